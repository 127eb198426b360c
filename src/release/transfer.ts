// Shipping a release in one round trip: compare the release's manifest with
// the manifest of a release the host already has (kept on this machine, so no
// question needs asking), send one gzipped tar stream holding only the files
// that differ plus the list of paths that go, and let the host hard-link every
// other file from that release. The host rebuilds the new manifest and checks
// its digest, so a mismatch can never pass unnoticed.
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { SlipwayError, tail } from '../errors.ts';
import { script, sh, type Layout } from '../server/layout.ts';
import type { HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import {
  diffManifests,
  digestOf,
  manifestStore,
  parseManifest,
  PATH_COLUMN,
  type Entry,
  type Manifest,
} from './content.ts';
import { binaryDeltas, blobStore, hasZstd, keepSent } from './delta.ts';
import LINK_LISTED from '../scripts/transfer-link-listed.sh';
import STAGE from '../scripts/transfer-stage.sh';
import APPLY_BODY from '../scripts/transfer-apply.sh';
import STAGER_BODY from '../scripts/transfer-stager.sh';

/** the host could not rebuild a file from its binary delta */
const PATCH_FAILED = 6;

export interface TransferStats {
  /** compressed bytes of the stream sent */
  bytesSent: number;
  filesSent: number;
  /** of those, files sent as a binary delta against the base's version */
  filesPatched: number;
  /** files hard-linked from the base release */
  filesLinked: number;
  /** the release the unchanged files came from */
  base?: string;
  /** they came from the base's staged tree (prepared after the previous deploy) */
  staged: boolean;
  /** a binary delta the host could not rebuild its file from: the files were sent again, whole, at once */
  deltaRefused?: string;
}

/** The state as a transfer sees it when none of the host's files can be trusted: nothing to link from. */
export const nothingToLinkFrom = (state: HostState): HostState => ({ ...state, current: undefined, manifests: {} });

/** The release to hard-link from: the current one, else the newest with a stored manifest. */
export function chooseBase(state: HostState): string | undefined {
  // state.current is set only while its release is on disk: one deleted by hand is no base
  if (state.current && state.manifests[state.current]) return state.current;
  return state.releases
    .map((r) => r.id)
    .filter((id) => state.manifests[id])
    .pop();
}

// Hard-link the files listed in "$list" (paths, one per line) from "$src" into "$dst":
// folders first, then two linkers in parallel (so no two race to make a folder).

// $1 app dir, $2 release id, $3 base release id ("" for none), $4 base manifest file, $5 expected digest.
// stdin: gzipped tar of delta/drop (a blank line, then one path per line), delta/add (manifest
// lines of the files sent) and release/<path> for each file sent.
// The kept files come from the base's staged tree when one is ready (see STAGE), else are
// hard-linked from the base release now.
// A patch/<path> holds a zstd patch against the base's version of the file instead: rebuilt and its hash checked.
const APPLY = script({ PATH_COLUMN, PATCH_FAILED }, LINK_LISTED, APPLY_BODY);

// $1 app dir, $2 release id, $3 its manifest file, $4 seconds to wait first, $5 the staged folder,
// $6 the manifests folder. Builds a hard-linked copy of the release's
// files in the staged folder (<staged>/<id>): the next deploy's starting point, so it only removes and adds
// what changed. Renamed into place only when complete; a stager never touches another's
// unfinished tree; a tree of any other release is dropped. Runs in the background (STAGE).
const STAGER = script({ PATH_COLUMN }, LINK_LISTED, STAGER_BODY);

// $4: STAGER, $5: seconds it waits first, $6 the staged folder, $7 the manifests folder. It runs
// in its own session, so it outlives this command, niced and after a pause: background work
// that must not compete with the new release starting up, nor with a rollback right after the deploy.

/** argv that stages the release's files for the next deploy, in the background (returns at once). */
export function stageArgv(l: Layout, id: string, manifestFile: string, delaySeconds = 2): string[] {
  return sh(STAGE, l.appDir, id, manifestFile, STAGER, String(delaySeconds), l.staged, l.manifests);
}

/** Ship the release into the host's incoming folder. */
export async function transfer(
  host: Host,
  l: Layout,
  release: { id: string; srcDir: string; manifest: Manifest },
  state: HostState,
  onProgress?: (percent: number) => void,
): Promise<TransferStats> {
  try {
    return await transferOnce(host, l, release, state, onProgress, true);
  } catch (e) {
    if (!(e instanceof PatchFailed)) throw e;
    // the kept reference is not what the host has (it was forgotten): the same transfer again, whole files only
    const stats = await transferOnce(host, l, release, state, onProgress, false);
    return { ...stats, deltaRefused: e.details ?? e.message };
  }
}

class PatchFailed extends SlipwayError {}

async function transferOnce(
  host: Host,
  l: Layout,
  release: { id: string; srcDir: string; manifest: Manifest },
  state: HostState,
  onProgress: ((percent: number) => void) | undefined,
  allowDeltas: boolean,
): Promise<TransferStats> {
  const base = chooseBase(state);
  const baseFile = base ? state.manifests[base]! : '';
  const baseText = base ? await baseManifest(host, l, baseFile) : '';
  const baseEntries = parseManifest(baseText);
  const { send, drop } = diffManifests(baseEntries, release.manifest);
  const deltas = allowDeltas && state.tools.includes('zstd') && (await hasZstd());
  const patches = deltas && base ? await binaryDeltas(release.srcDir, send, baseEntries) : new Map<string, Buffer>();

  let bytesSent = 0;
  const counted = new PassThrough();
  counted.on('data', (chunk: Buffer) => (bytesSent += chunk.length));
  const gzip = createGzip({ level: 6 });
  const packing = pipeline(pack(release.srcDir, send, drop, patches, onProgress), batched(), gzip, counted).then(
    () => undefined,
    (e: Error) => e,
  );
  const apply = sh(
    APPLY,
    l.appDir,
    release.id,
    base ?? '',
    baseFile,
    release.manifest.digest,
    l.incoming,
    l.manifests,
    l.staged,
  );
  const r = await host.run(apply, { input: counted, reject: false }).catch(async (e: unknown) => {
    // nothing reads the stream any more: stop packing before the failure path runs
    counted.destroy();
    await packing;
    throw e;
  });
  const packError = await packing;
  if (packError && !/premature close|EPIPE/i.test(packError.message)) {
    // the host saw a cut-off stream because reading here failed: that is the cause to report
    throw new SlipwayError(
      'failure',
      `${host.name}: transfer failed while reading the release here: ${packError.message}`,
      {
        hint:
          'the previous release is still serving; deploy again (a file that changed while it was sent is ' +
          'hashed again)',
      },
    );
  }
  if (r.exitCode === PATCH_FAILED) {
    // the kept version is not what the host has: forget it, so the next deploy sends the file whole
    for (const p of patches.keys()) blobStore.remove(baseEntries.get(p)!.hash);
    throw new PatchFailed('failure', `${host.name}: a binary delta did not rebuild its file`, {
      details: tail(r.stderr.trim(), 5),
    });
  }
  if (r.exitCode !== 0 || packError) {
    throw new SlipwayError(
      r.exitCode === 255 ? 'connection' : 'failure',
      `${host.name}: transfer failed (exit code ${r.exitCode})`,
      {
        details: tail(r.stderr.trim() || r.stdout.trim(), 15),
        hint:
          `the previous release is still serving; check the connection and the free space on the host (df ` +
          `-h ${l.appDir}), then deploy again`,
      },
    );
  }
  manifestStore.put(release.manifest.text);
  if (deltas) keepSent(release.srcDir, send);
  return {
    bytesSent,
    filesSent: send.length,
    filesPatched: patches.size,
    filesLinked: Number(/linked (\d+)/.exec(r.stdout)?.[1] ?? 0),
    base,
    staged: /^staged$/m.test(r.stdout),
  };
}

/** A manifest the host stores: from this machine's store when it has it, else read once from the host. */
async function baseManifest(host: Host, l: Layout, file: string): Promise<string> {
  const digest = file.slice(-32);
  const known = manifestStore.get(digest);
  if (known !== undefined) return known;
  const r = await host.run(['cat', `${l.manifests}/${file}`]);
  if (digestOf(r.stdout) !== digest)
    throw new SlipwayError(
      'failure',
      `${host.name}: ${l.manifests}/${file} is damaged (its content does not match its digest)`,
      { hint: `remove it on the host; the next deploy then sends every file` },
    );
  manifestStore.put(r.stdout);
  return r.stdout;
}

/** Files up to this size are read whole; larger ones are streamed. */
const WHOLE_FILE = 1024 * 1024;

/** Joins small chunks into chunks of about 1 MiB: gzip runs on libuv's thread pool, and
 * a hand-off per tar block of a small file costs more than compressing it. */
function batched(limit = 1024 * 1024): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  const take = () => {
    const out = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      parts.push(chunk);
      size += chunk.length;
      done(null, size >= limit ? take() : undefined);
    },
    flush(done) {
      done(null, size ? take() : undefined);
    },
  });
}

/** One tar entry, resolved once the pack has taken it. A failure stops the whole pack, which
 * then errors each unfinished entry too: that is reported through the callback and the pack. */
function add(p: tar.Pack, header: Parameters<tar.Pack['entry']>[0], data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    const entry = data ? p.entry(header, data, done) : p.entry(header, done);
    entry.on('error', () => undefined);
  });
}

function changedError(e: Entry, now: number): Error {
  return new Error(`${e.path} changed while it was being sent (${e.size} bytes when hashed, ${now} now)`);
}

/** The tar stream: control files first, then each file to send, read as it goes. */
function pack(
  srcDir: string,
  send: Entry[],
  drop: string[],
  patches: Map<string, Buffer>,
  onProgress?: (percent: number) => void,
): tar.Pack {
  const p = tar.pack();
  const total = send.reduce((n, e) => n + e.size, 0) || 1;
  void (async () => {
    try {
      await add(p, { name: 'delta/drop', mode: 0o644 }, Buffer.from(`\n${drop.map((d) => `${d}\n`).join('')}`));
      await add(
        p,
        { name: 'delta/add', mode: 0o644 },
        Buffer.from(send.map((e) => `${e.hash} ${e.kind} ${e.path}\n`).join('')),
      );
      let done = 0;
      let shown = -1;
      for (const e of send) {
        const abs = e.src ?? path.join(srcDir, e.path);
        const name = `release/${e.path}`;
        const mtime = new Date(e.mtimeMs);
        const mode = e.kind === 'x' ? 0o755 : 0o644;
        const patch = patches.get(e.path);
        if (patch) {
          await add(p, { name: `patch/${e.path}`, mode: 0o644, mtime }, patch);
        } else if (e.kind === 'l') {
          await add(p, { name, type: 'symlink', linkname: readlinkSync(abs), mtime });
        } else if (e.size <= WHOLE_FILE) {
          // read whole: a stream per small file costs more than the file itself
          const data = readFileSync(abs);
          if (data.length !== e.size) throw changedError(e, data.length);
          await add(p, { name, mode, mtime }, data);
        } else {
          const fd = openSync(abs, 'r');
          const now = fstatSync(fd).size;
          if (now !== e.size) {
            closeSync(fd);
            throw changedError(e, now);
          }
          const entry = p.entry({ name, size: e.size, mode, mtime });
          await pipeline(createReadStream('', { fd, end: e.size - 1 }), entry);
        }
        done += e.size;
        const pct = Math.floor((done / total) * 100);
        if (onProgress && pct !== shown) onProgress((shown = pct));
      }
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
    }
  })();
  return p;
}
