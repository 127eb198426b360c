// The state read of state-read.sh done in this process, for a host that is this machine (the agent's own, which
// reads it every few seconds): the same sections in the same format, so one parser reads both.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Layout } from './layout.ts';

/** The sections state-read.sh prints with `all`; undefined when the app is not set up here. */
export function stateTextHere(l: Layout, historyLines: number): string | undefined {
  if (!isDir(l.appDir) || !isDir(l.meta)) return undefined;
  const slots = ['a', 'b'].map((s) => link(path.join(l.appDir, 'slots', s))).filter(Boolean);
  return [
    lines([link(l.current)]),
    lines(slots),
    lines(list(l.releases)),
    lines(list(l.manifests)),
    lines([platform()]),
    read(l.desired),
    lines(onPath('zstd') ? ['zstd'] : []),
    tail(l.history, historyLines),
  ].join('---\n');
}

const lines = (xs: (string | undefined)[]) =>
  xs
    .filter((x): x is string => !!x)
    .map((x) => `${x}\n`)
    .join('');

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function link(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** `ls -1`: names sorted, none when the folder is not there */
function list(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** `uname -s`, `uname -m` and the C library */
function platform(): string {
  const musl = list('/lib').some((n) => n.startsWith('ld-musl-'));
  return `${os.type()} ${os.machine()} ${musl ? 'musl' : 'glibc'}`;
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, program)));
}

/** The last `n` lines of a file, read from its end (a history grows with every deploy). */
export function tail(file: string, n: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    let text = '';
    for (let end = size, chunk = 64 * 1024; end > 0; end -= chunk) {
      const start = Math.max(0, end - chunk);
      const buf = Buffer.alloc(end - start);
      readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('latin1') + text;
      if (text.split('\n').length > n + 1) break;
    }
    const all = Buffer.from(text, 'latin1').toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return lines(all.slice(-n));
  } finally {
    closeSync(fd);
  }
}
