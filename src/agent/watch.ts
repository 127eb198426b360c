// Seeing drift as it happens instead of polling: systemd's own messages about the app's units (journalctl follows
// PID 1's), inotify on the folders slipway writes (the app's folder, its release, the unit's folder, Caddy's autosaved
// config), and the runtime's event stream (docker events). Any of them only says "look at this app again".
import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Watched } from '../runtime/runtime.ts';

/** What to watch for one app: the runtime's part and the folders every app has. */
export interface AppWatch extends Watched {
  app: string;
  /** folders whose every change matters (the app's folder, its meta folder, the desired release) */
  dirs: string[];
}

/** Caddy's config, autosaved by caddy-api.service whenever it changes, and that service itself. */
export const CADDY = { unit: 'caddy-api.service', dir: '/var/lib/caddy/.config/caddy' };

/** Which apps a unit's message concerns (pure). */
export function appsOfUnit(watches: AppWatch[], unit: string): string[] {
  return watches.filter((w) => w.units.includes(unit)).map((w) => w.app);
}

/** Which apps a change of `file` in folder `dir` concerns (pure). */
export function appsOfFile(watches: AppWatch[], dir: string, file: string | null): string[] {
  const full = file ? path.posix.join(dir, file) : dir;
  return watches
    .filter(
      (w) => w.dirs.includes(dir) || w.files.includes(full) || (!file && w.files.some((f) => path.dirname(f) === dir)),
    )
    .map((w) => w.app);
}

/** Start watching; every change calls `changed(app)`. Returns what stops it all. */
export function startWatching(watches: AppWatch[], changed: (app: string) => void, log: (l: string) => void) {
  const closers: (() => void)[] = [];
  const units = [...new Set(watches.flatMap((w) => w.units))];
  if (units.length) closers.push(follow(journalArgv(), (line) => unitLine(line, watches, changed), log));
  for (const w of watches) if (w.events) closers.push(follow(w.events, () => changed(w.app), log));
  const dirs = new Set([
    ...watches.flatMap((w) => w.dirs),
    ...watches.flatMap((w) => w.files.map((f) => path.dirname(f))),
  ]);
  for (const dir of dirs) {
    const watcher = watchDir(dir, (file) => appsOfFile(watches, dir, file).forEach(changed));
    if (watcher) closers.push(() => watcher.close());
  }
  return () => {
    for (const close of closers) close();
  };
}

/** PID 1's messages (started, stopped, failed …) from now on, one JSON object per line. */
export function journalArgv(): string[] {
  return ['journalctl', '--follow', '--lines=0', '--output=json', '--output-fields=UNIT', '_PID=1'];
}

function unitLine(line: string, watches: AppWatch[], changed: (app: string) => void): void {
  try {
    const unit = (JSON.parse(line) as { UNIT?: string }).UNIT;
    if (unit) appsOfUnit(watches, unit).forEach(changed);
  } catch {
    /* not a message */
  }
}

function watchDir(dir: string, onChange: (file: string | null) => void): FSWatcher | undefined {
  try {
    const w = watch(dir, { persistent: true }, (_event, file) => onChange(file ? String(file) : null));
    w.on('error', () => w.close()); // the folder went away: the next full look rebuilds the watches
    return w;
  } catch {
    return undefined; // not there (yet)
  }
}

/** Run argv for as long as the watch lasts, calling `onLine` per output line; restarted if it ends. */
function follow(argv: string[], onLine: (line: string) => void, log: (l: string) => void): () => void {
  let child: ChildProcess | undefined;
  let stopped = false;
  const start = () => {
    child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: child.stdout! }).on('line', onLine);
    child.on('error', (e) => log(`${argv[0]}: ${e.message}`));
    child.on('exit', () => {
      if (!stopped) setTimeout(start, 5000).unref();
    });
  };
  start();
  return () => {
    stopped = true;
    child?.kill();
  };
}
