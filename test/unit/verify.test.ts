// A release's files on a host against its manifest, checked by the host itself (the shell script a sync runs on
// every host, agent or not): it must agree with the digest this machine computes, for every kind of change, and for
// every name a release can hold; a sync's finalize replaces a changed copy and keeps it aside.
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { hashFiles } from '../../src/release/content.ts';
import { layout } from '../../src/server/layout.ts';
import { finalizeRelease, releaseFilesOn } from '../../src/server/release.ts';
import { LocalHost } from '../../src/transport/local.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-verify-'));
const l = layout(path.join(tmp, 'srv/app'));
const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
const ID = '20261202T100000Z';
const dir = l.release(ID);
// names a user can give files: spaces, quotes, $, a leading dash, unicode, a backslash, a parenthesis
const names = [
  'server.js',
  'a b/c d.txt',
  'it\'s "quoted" $HOME.txt',
  '-n',
  'ünï/cödé ✓.txt',
  'back\\slash',
  '(x)',
  'bin/run',
];
let manifestFile = '';

function build(): void {
  rmSync(l.appDir, { recursive: true, force: true });
  mkdirSync(l.manifests, { recursive: true });
  for (const n of names) {
    mkdirSync(path.dirname(path.join(dir, n)), { recursive: true });
    writeFileSync(path.join(dir, n), `content of ${n}\n`);
  }
  chmodSync(path.join(dir, 'bin/run'), 0o755);
  symlinkSync('server.js', path.join(dir, 'link'));
  writeFileSync(path.join(dir, 'REVISION'), 'abc\n'); // not in the manifest: not the check's business
  const m = hashFiles(dir, [...names, 'link']);
  manifestFile = `${ID}.${m.digest}`;
  writeFileSync(path.join(l.manifests, manifestFile), m.text);
}

const check = () => releaseFilesOn(host, l, ID, manifestFile);

describe('the release files check on the host', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));
  beforeEach(build);

  it('a release as shipped is intact (extra files such as REVISION aside)', async () => {
    assert.equal(await check(), 'intact');
  });

  it('content changed in place, under any of the names', async () => {
    for (const n of names) {
      build();
      writeFileSync(path.join(dir, n), 'tampered\n');
      assert.equal(await check(), 'changed', n);
    }
  });

  it('a file deleted, a mode changed, a link pointed elsewhere, a file made a folder', async () => {
    unlinkSync(path.join(dir, '-n'));
    assert.equal(await check(), 'changed');
    build();
    chmodSync(path.join(dir, 'bin/run'), 0o644);
    assert.equal(await check(), 'changed');
    build();
    chmodSync(path.join(dir, 'server.js'), 0o744);
    assert.equal(await check(), 'changed');
    build();
    unlinkSync(path.join(dir, 'link'));
    symlinkSync('(x)', path.join(dir, 'link'));
    assert.equal(await check(), 'changed');
    build();
    rmSync(path.join(dir, '(x)'));
    mkdirSync(path.join(dir, '(x)'));
    assert.equal(await check(), 'changed');
  });

  it('the folder gone is missing', async () => {
    rmSync(dir, { recursive: true });
    assert.equal(await check(), 'missing');
  });

  it("a sync's finalize puts the new copy in place and keeps the changed one in changed/", async () => {
    writeFileSync(path.join(dir, 'server.js'), 'tampered\n');
    const inc = path.join(l.incoming, ID);
    mkdirSync(`${inc}.delta`, { recursive: true });
    mkdirSync(inc);
    for (const n of names) {
      mkdirSync(path.dirname(path.join(inc, n)), { recursive: true });
      writeFileSync(path.join(inc, n), `content of ${n}\n`);
    }
    chmodSync(path.join(inc, 'bin/run'), 0o755);
    symlinkSync('server.js', path.join(inc, 'link'));
    writeFileSync(`${inc}.delta/manifest`, readFileSync(path.join(l.manifests, manifestFile)));
    mkdirSync(path.join(l.staged, ID), { recursive: true });
    await finalizeRelease(host, l, ID, manifestFile.slice(ID.length + 1), { dirs: [], files: [] }, 'abc', true);
    assert.equal(await check(), 'intact');
    const kept = readdirSync(l.changed);
    assert.equal(kept.length, 1);
    assert.match(kept[0]!, new RegExp(`^${ID}\\.\\d{8}T\\d{6}Z$`));
    assert.equal(readFileSync(path.join(l.changed, kept[0]!, 'server.js'), 'utf8'), 'tampered\n');
    assert.deepEqual(readdirSync(l.staged), [], 'the staged tree shared the changed inodes');
  });
});
