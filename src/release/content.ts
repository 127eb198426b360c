// A release's content: every file's path, kind and content hash, as a sorted
// text manifest with a digest. Hashes are cached on this machine keyed by path,
// size, mtime and inode, so an unchanged file costs one lstat and no read.
// Comparing two manifests says exactly which files a host lacks.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SlipwayError } from '../errors.ts';
import { hasControlChar } from '../text.ts';

/** f: regular file, x: executable file, l: symbolic link */
export type Kind = 'f' | 'x' | 'l';

export interface Entry {
  path: string;
  kind: Kind;
  /** 32 hex digits of sha256 (of the content, or of the link target) */
  hash: string;
  size: number;
  mtimeMs: number;
  /** where the file is read from, when not under the release's own folder (dependencies built here) */
  src?: string;
}

export interface Manifest {
  entries: Entry[];
  /** `<hash> <kind> <path>` lines, sorted by path bytes: what hosts store */
  text: string;
  digest: string;
}

/** Where the manifest line's path starts (hash, space, kind, space): fixed, so shell tools can cut it. */
export const PATH_COLUMN = 36;

export function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

const byPathBytes = (a: { path: string }, b: { path: string }) =>
  Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

export function manifestOf(entries: Entry[]): Manifest {
  const sorted = [...entries].sort(byPathBytes);
  const text = sorted.map((e) => `${e.hash} ${e.kind} ${e.path}\n`).join('');
  return { entries: sorted, text, digest: digestOf(text) };
}

/** The lines of a stored manifest, by path. */
export function parseManifest(text: string): Map<string, { hash: string; kind: Kind }> {
  const out = new Map<string, { hash: string; kind: Kind }>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    out.set(line.slice(PATH_COLUMN - 1), { hash: line.slice(0, 32), kind: line[33] as Kind });
  }
  return out;
}

/** What a host holding `base` lacks to make `next`: files to send, and base paths that go or change. */
export function diffManifests(
  base: Map<string, { hash: string; kind: Kind }>,
  next: Manifest,
): { send: Entry[]; drop: string[] } {
  const send: Entry[] = [];
  const drop: string[] = [];
  const paths = new Set<string>();
  for (const e of next.entries) {
    paths.add(e.path);
    const had = base.get(e.path);
    if (had && had.hash === e.hash && had.kind === e.kind) continue;
    send.push(e);
    if (had) drop.push(e.path);
  }
  for (const p of base.keys()) if (!paths.has(p)) drop.push(p);
  return { send, drop };
}

type HashCache = Record<string, [size: number, mtimeMs: number, ino: number, hash: string]>;

export function cacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'slipway');
}

/** A folder in the cache, made with the cache private (0700): file lists and hashes say what a project holds. */
export function privateCacheDir(...sub: string[]): string {
  const root = cacheDir();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  const dir = path.join(root, ...sub);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Hash the release's files under dir. With a cache file, a file whose size,
 * mtime and inode match the cached entry is not read again. Files modified in
 * the last two seconds are not cached: a change within the clock's resolution
 * could otherwise go unseen.
 */
export function hashFiles(dir: string, files: string[], cacheFile?: string): Manifest {
  const cache: HashCache = cacheFile ? readJson(cacheFile) : {};
  const next: HashCache = {};
  const recent = Date.now() - 2000;
  const entries: Entry[] = [];
  for (const rel of files) {
    if (hasControlChar(rel)) {
      throw new SlipwayError(
        'config',
        `${path.join(dir, rel)}: file names with line breaks or control characters cannot be deployed`,
        { hint: 'rename the file, or exclude it in slipway.yml' },
      );
    }
    const abs = path.join(dir, rel);
    const st = lstatSync(abs);
    let kind: Kind;
    let hash: string;
    if (st.isSymbolicLink()) {
      kind = 'l';
      hash = createHash('sha256')
        .update(`link\0${readlinkSync(abs)}`)
        .digest('hex')
        .slice(0, 32);
    } else if (st.isFile()) {
      kind = st.mode & 0o111 ? 'x' : 'f';
      const c = cache[rel];
      hash = c && c[0] === st.size && c[1] === st.mtimeMs && c[2] === st.ino ? c[3] : hashFile(abs);
      if (st.mtimeMs < recent) next[rel] = [st.size, st.mtimeMs, st.ino, hash];
    } else {
      continue; // sockets, fifos, devices: never part of a release
    }
    entries.push({ path: rel, kind, hash, size: st.size, mtimeMs: st.mtimeMs });
  }
  if (cacheFile) writeJsonIfChanged(cacheFile, cache, next);
  return manifestOf(entries);
}

const CHUNK = 4 * 1024 * 1024;

function hashFile(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let n: number;
    while ((n = readSync(fd, buf, 0, CHUNK, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex').slice(0, 32);
}

function readJson(file: string): HashCache {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as HashCache;
  } catch {
    return {};
  }
}

function writeJsonIfChanged(file: string, before: HashCache, after: HashCache): void {
  const keys = Object.keys(after);
  if (keys.length === Object.keys(before).length && keys.every((k) => before[k]?.join() === after[k]!.join())) return;
  try {
    privateCacheDir(path.relative(cacheDir(), path.dirname(file)));
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(after), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    /* a cache that cannot be written only costs speed */
  }
}

/** The hash cache file for a source folder. */
export function hashCacheFile(dir: string): string {
  return path.join(
    cacheDir(),
    'hashes',
    `${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16)}.json`,
  );
}

const KEEP_MANIFESTS = 50;

/** Manifests this machine has seen, by digest: the base of the next transfer without asking the host for it. */
export const manifestStore = {
  file: (digest: string) => path.join(cacheDir(), 'manifests', digest),
  get(digest: string): string | undefined {
    try {
      const text = readFileSync(this.file(digest), 'utf8');
      return digestOf(text) === digest ? text : undefined;
    } catch {
      return undefined;
    }
  },
  put(text: string): void {
    try {
      const file = this.file(digestOf(text));
      privateCacheDir('manifests');
      writeFileSync(`${file}.${process.pid}`, text, { mode: 0o600 });
      renameSync(`${file}.${process.pid}`, file);
      const dir = path.dirname(file);
      const all = readdirSync(dir)
        .map((f) => ({ f, t: statSync(path.join(dir, f)).mtimeMs }))
        .sort((a, b) => b.t - a.t);
      for (const old of all.slice(KEEP_MANIFESTS)) rmSync(path.join(dir, old.f), { force: true });
    } catch {
      /* only costs a round trip next time */
    }
  },
};
