// Binary deltas: a rebuilt binary goes as a zstd patch against the version the host has, the host rebuilds
// it and checks its hash; a patch that does not give the file sent fails the transfer and is never used again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hashFiles } from '../../src/release/content.ts';
import { blobStore } from '../../src/release/delta.ts';
import { transfer } from '../../src/release/transfer.ts';
import { layout } from '../../src/server/layout.ts';
import { readState } from '../../src/server/state.ts';
import { finalizeRelease } from '../../src/server/release.ts';
import { LocalHost } from '../../src/transport/local.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-delta-'));
process.env.XDG_CACHE_HOME = path.join(tmp, 'cache');
const src = path.join(tmp, 'src');
const l = layout(path.join(tmp, 'srv/app'));
const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
const binary = randomBytes(3 * 1024 * 1024);

async function ship(id: string) {
  const manifest = hashFiles(src, ['server', 'README']);
  const stats = await transfer(host, l, { id, srcDir: src, manifest }, await readState(host, l));
  await finalizeRelease(host, l, id, manifest.digest, { dirs: [], files: [] }, 'r');
  return { stats, manifest };
}
/** a rebuild: the same binary with a few bytes changed in three places */
function rebuild(seed: number) {
  for (const at of [1000, 1_500_000, 3_000_000]) binary.writeUInt32LE(seed, at);
  writeFileSync(path.join(src, 'server'), binary);
}

describe('binary deltas', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));
  mkdirSync(src, { recursive: true });
  mkdirSync(l.releases, { recursive: true });
  mkdirSync(l.meta, { recursive: true });
  writeFileSync(path.join(src, 'README'), 'hello\n');
  writeFileSync(path.join(src, 'server'), binary);
  chmodSync(path.join(src, 'server'), 0o755);

  it('the first deploy sends the binary whole and keeps it here as the next reference', async () => {
    const { stats, manifest } = await ship('R1');
    assert.deepEqual([stats.filesSent, stats.filesPatched], [2, 0]);
    assert.ok(stats.bytesSent > binary.length, `random bytes do not compress: ${stats.bytesSent}`);
    const hash = manifest.entries.find((e) => e.path === 'server')!.hash;
    assert.ok(blobStore.has(hash));
    assert.equal(statSync(blobStore.file(hash)).mode & 0o777, 0o600);
  });

  it('a rebuilt binary goes as a delta of a few KB; the host has it exactly, executable', async () => {
    rebuild(1);
    const { stats } = await ship('R2');
    assert.deepEqual([stats.filesSent, stats.filesPatched, stats.base], [1, 1, 'R1']);
    assert.ok(stats.bytesSent < 8 * 1024, `sent ${stats.bytesSent} bytes for a 3 MiB binary`);
    const onHost = path.join(l.releases, 'R2/server');
    assert.ok(readFileSync(onHost).equals(binary));
    assert.equal(statSync(onHost).mode & 0o777, 0o755);
  });

  it("a reference unlike the host's version: refused there, sent whole at once, the reference dropped", async () => {
    const r2 = hashFiles(src, ['server']).entries[0]!.hash;
    rebuild(2);
    // what is kept as R2's version already holds the change: the patch copies it, and the host's R2 lacks it
    writeFileSync(blobStore.file(r2), binary);
    const { stats } = await ship('R3');
    assert.deepEqual([stats.filesSent, stats.filesPatched], [1, 0]);
    assert.match(stats.deltaRefused ?? '', /does not give the file that was sent/);
    assert.ok(stats.bytesSent > binary.length, `sent whole: ${stats.bytesSent} bytes`);
    assert.equal(blobStore.has(r2), false);
    assert.ok(readFileSync(path.join(l.releases, 'R3/server')).equals(binary));
  });

  it('a host without zstd gets whole files', async () => {
    rebuild(3);
    const manifest = hashFiles(src, ['server', 'README']);
    const state = { ...(await readState(host, l)), tools: [] };
    const stats = await transfer(host, l, { id: 'R4', srcDir: src, manifest }, state);
    assert.deepEqual([stats.filesSent, stats.filesPatched], [1, 0]);
  });
});
