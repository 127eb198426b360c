// The runs in progress on this host, from their feeds (src/engine/live.ts): each feed file is read as it grows, so the
// dashboard shows a deploy's phases as they run, wherever it was started (CLI, git push, webhook, the agent's pull).
import {
  closeSync,
  type FSWatcher,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  watch,
} from 'node:fs';
import path from 'node:path';
import type { RunView } from '../web/board.ts';

/** events kept per run, and ended runs kept per app (newest) */
const RUN_EVENTS = 300;
const ENDED_KEPT = 5;
/** an ended feed's file is removed after this (what the page needs is kept in memory) */
const FEED_FILE_MS = 3600_000;

interface Feed extends RunView {
  offset: number;
  rest: string;
  file: string;
}

export class LiveRuns {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly dir: string,
    /** called with each run that changed */
    private readonly changed: (run: RunView) => void,
    /** the token of the lock each app's deploy holds now (a feed whose token is not it waits for the lock) */
    private readonly holder: (app: string) => string | undefined,
  ) {}

  /** Watch the feeds' folder and each app's in it (Node 18, on hosts, has no recursive watch); returns the stop. */
  start(): () => void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const watchers = new Map<string, FSWatcher>();
    const follow = () => {
      for (const app of safeList(this.dir))
        if (!watchers.has(app))
          try {
            watchers.set(
              app,
              watch(path.join(this.dir, app), () => this.scan()),
            );
          } catch {
            /* not a folder, or gone again */
          }
      this.scan();
    };
    const top = watch(this.dir, follow);
    follow();
    return () => {
      top.close();
      for (const w of watchers.values()) w.close();
    };
  }

  runs(): RunView[] {
    return [...this.feeds.values()].map((f) => this.view(f));
  }

  /** Read what every feed added since the last look. */
  scan(): void {
    let apps: string[];
    try {
      apps = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const app of apps)
      for (const name of safeList(path.join(this.dir, app)).filter((n) => n.endsWith('.jsonl')))
        this.read(app, name.slice(0, -'.jsonl'.length), path.join(this.dir, app, name));
    this.forget();
  }

  private read(app: string, token: string, file: string): void {
    const id = `${app}/${token}`;
    let f = this.feeds.get(id);
    if (f?.ended) return;
    f ??= { app, token, ended: false, events: [], offset: 0, rest: '', file };
    const text = readFrom(file, f.offset);
    if (!text && this.feeds.has(id)) return;
    f.offset += Buffer.byteLength(text);
    const lines = (f.rest + text).split('\n');
    f.rest = lines.pop() ?? '';
    for (const line of lines) take(f, line);
    this.feeds.set(id, f);
    this.changed(this.view(f));
  }

  /** The place in the queue of a run waiting for the lock (the oldest waiting first). */
  private view(f: Feed): RunView {
    const { offset: _o, rest: _r, file: _f, ...run } = f;
    const holder = this.holder(f.app);
    if (f.ended || holder === f.token) return run;
    const waiting = [...this.feeds.values()]
      .filter((o) => o.app === f.app && o.started && !o.ended && holder !== o.token)
      .sort((a, b) => (a.started ?? '').localeCompare(b.started ?? ''));
    return { ...run, queued: waiting.indexOf(f) + 1 };
  }

  /** Keep the newest ended runs of each app; remove their old files. */
  private forget(): void {
    const byApp = new Map<string, Feed[]>();
    for (const f of this.feeds.values()) if (f.ended) byApp.set(f.app, [...(byApp.get(f.app) ?? []), f]);
    for (const ended of byApp.values()) {
      ended.sort((a, b) => (b.started ?? '').localeCompare(a.started ?? ''));
      for (const f of ended.slice(ENDED_KEPT)) this.feeds.delete(`${f.app}/${f.token}`);
    }
    for (const f of this.feeds.values())
      if (f.ended && Date.now() - mtime(f.file) > FEED_FILE_MS) rmSync(f.file, { force: true });
  }
}

function take(f: Feed, line: string): void {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  if (e.type === 'feed') {
    f.command = String(e.command ?? '');
    f.user = `${String(e.user ?? '?')}@${String(e.machine ?? '?')}`;
    f.started = String(e.time ?? '');
  } else if (e.type === 'end') f.ended = true;
  else {
    f.events.push(e);
    if (f.events.length > RUN_EVENTS) f.events.shift();
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** The file's bytes from `offset` on, up to the last whole line (one still being written is read next time). */
function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    if (size <= offset) return '';
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    const bytes = buf.subarray(0, n);
    // stop before a UTF-8 sequence still being written
    const end = bytes.lastIndexOf(0x0a) + 1;
    return bytes.subarray(0, end).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
