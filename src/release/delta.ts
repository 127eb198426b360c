// Large changed files sent as a binary delta: a rebuilt Go binary differs from the one the host has in a few
// hundred KB of its megabytes. The version last sent is kept here (by content hash); the new one goes as a
// zstd patch against it (`--patch-from`) when that is smaller than the file compressed, and the host rebuilds
// the file from its copy and checks the result's hash.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { execa } from 'execa';
import { privateCacheDir, type Entry } from './content.ts';

/** Files this size and larger may go as a delta; below it a delta saves too little to pay for itself. */
export const DELTA_MIN = 64 * 1024;
/** and no larger: zstd's window then covers the whole reference with its default memory limit (128 MiB) */
export const DELTA_MAX = 64 * 1024 * 1024;
/** versions kept here, newest first, and the most bytes they may take */
const KEEP = { blobs: 16, bytes: 512 * 1024 * 1024 };

const fits = (e: Pick<Entry, 'kind' | 'size'>) => e.kind !== 'l' && e.size >= DELTA_MIN && e.size <= DELTA_MAX;

/** The versions of large files last sent, by content hash (in slipway's private cache). */
export const blobStore = {
  file: (hash: string) => path.join(privateCacheDir('blobs'), hash),
  has(hash: string): boolean {
    try {
      return statSync(this.file(hash)).isFile();
    } catch {
      return false;
    }
  },
  /** keep a copy of the file as sent, when its content is still the hash (it may have changed since) */
  put(hash: string, abs: string): void {
    const file = this.file(hash);
    const tmp = `${file}.${process.pid}`;
    if (this.has(hash)) return;
    try {
      copyFileSync(abs, tmp);
      chmodSync(tmp, 0o600);
      if (sha(readFileSync(tmp)) !== hash) {
        rmSync(tmp);
        return;
      }
      renameSync(tmp, file);
      prune(path.dirname(file));
    } catch {
      /* only costs a whole file next time */
    }
  },
  remove(hash: string): void {
    rmSync(this.file(hash), { force: true });
  },
};

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 32);
}

function prune(dir: string): void {
  const all = readdirSync(dir)
    .map((f) => ({ f, st: statSync(path.join(dir, f)) }))
    .sort((a, b) => b.st.mtimeMs - a.st.mtimeMs);
  let bytes = 0;
  all.forEach(({ f, st }, i) => {
    bytes += st.size;
    if (i >= KEEP.blobs || bytes > KEEP.bytes) rmSync(path.join(dir, f), { force: true });
  });
}

let zstdHere: Promise<boolean> | undefined;
/** whether this machine has zstd (asked once) */
export function hasZstd(): Promise<boolean> {
  zstdHere ??= execa('zstd', ['--version'], { reject: false }).then(
    (r) => r.exitCode === 0,
    () => false,
  );
  return zstdHere;
}

/**
 * The files to send as a patch against the host's version (path → patch): changed large files whose old version
 * is kept here, where the patch is smaller than the file compressed.
 */
export async function binaryDeltas(
  srcDir: string,
  send: Entry[],
  base: Map<string, { hash: string; kind: string }>,
): Promise<Map<string, Buffer>> {
  const patches = new Map<string, Buffer>();
  for (const e of send) {
    const old = base.get(e.path);
    if (!fits(e) || !old || old.kind === 'l' || !blobStore.has(old.hash)) continue;
    // the patch is made of the very bytes whose hash the manifest has: a file changed since goes whole, and the
    // transfer then reports the change
    const data = readFileSync(e.src ?? path.join(srcDir, e.path));
    if (sha(data) !== e.hash) continue;
    const from = `--patch-from=${blobStore.file(old.hash)}`;
    const r = await execa('zstd', ['-q', '-c', '-3', `--stream-size=${data.length}`, from], {
      input: data,
      encoding: 'buffer',
      reject: false,
    });
    if (r.exitCode !== 0) continue;
    const patch = Buffer.from(r.stdout);
    if (patch.length < deflateRawSync(data, { level: 1 }).length) patches.set(e.path, patch);
  }
  return patches;
}

/** After a transfer: keep the large files sent, the next deploy's references. */
export function keepSent(srcDir: string, send: Entry[]): void {
  for (const e of send) if (fits(e)) blobStore.put(e.hash, e.src ?? path.join(srcDir, e.path));
}
