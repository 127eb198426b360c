// Release content: manifests, the hash cache, and the delta transfer applied by
// the host's script (run here against a local folder: the same script, the
// same tar stream, as over SSH).
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { diffManifests, hashFiles, manifestOf, parseManifest, type Entry } from '../../src/release/content.ts';
import { chooseBase, stageArgv, transfer } from '../../src/release/transfer.ts';
import { localPlatform, manifestFor } from '../../src/engine/deps.ts';
import { layout } from '../../src/server/layout.ts';
import { buildState, readState } from '../../src/server/state.ts';
import { LocalHost } from '../../src/transport/local.ts';

const e = (p: string, hash: string, kind: Entry['kind'] = 'f'): Entry => ({
  path: p,
  kind,
  hash: hash.padEnd(32, '0'),
  size: 1,
  mtimeMs: 0,
});

describe('release content', () => {
  it('a manifest is sorted by path bytes, one fixed-width line per file', () => {
    const m = manifestOf([e('b', 'b'), e('a/é', 'c', 'x'), e('a/z', 'd', 'l'), e('A', 'a')]);
    assert.equal(
      m.text,
      `${'a'.padEnd(32, '0')} f A\n${'d'.padEnd(32, '0')} l a/z\n${'c'.padEnd(32, '0')} x ` +
        `a/é\n${'b'.padEnd(32, '0')} f b\n`,
    );
    assert.match(m.digest, /^[0-9a-f]{32}$/);
    assert.deepEqual([...parseManifest(m.text).entries()][2], ['a/é', { hash: 'c'.padEnd(32, '0'), kind: 'x' }]);
  });

  it('the diff sends new and changed files (content or kind) and drops what goes or changes', () => {
    const base = parseManifest(manifestOf([e('same', '1'), e('edited', '2'), e('gone', '3'), e('mode', '4')]).text);
    const next = manifestOf([e('same', '1'), e('edited', '9'), e('mode', '4', 'x'), e('new', '5')]);
    const d = diffManifests(base, next);
    assert.deepEqual(
      d.send.map((x) => x.path),
      ['edited', 'mode', 'new'],
    );
    assert.deepEqual(d.drop.sort(), ['edited', 'gone', 'mode']);
  });

  it('hashes are cached by path, size, mtime and inode: an unchanged file is not read again', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-hash-'));
    const cache = path.join(dir, 'cache.json');
    writeFileSync(path.join(dir, 'a.txt'), 'one');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(dir, 'a.txt'), old, old);
    const first = hashFiles(dir, ['a.txt'], cache);
    // same size and mtime, different bytes: the cache answers (the proof that the file was not read)
    writeFileSync(path.join(dir, 'a.txt'), 'two');
    utimesSync(path.join(dir, 'a.txt'), old, old);
    assert.equal(hashFiles(dir, ['a.txt'], cache).entries[0]!.hash, first.entries[0]!.hash);
    // a new mtime: hashed again
    const later = new Date(Date.now() - 30_000);
    utimesSync(path.join(dir, 'a.txt'), later, later);
    assert.notEqual(hashFiles(dir, ['a.txt'], cache).entries[0]!.hash, first.entries[0]!.hash);
    // files modified just now are never cached
    writeFileSync(path.join(dir, 'b.txt'), 'fresh');
    hashFiles(dir, ['a.txt', 'b.txt'], cache);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(cache, 'utf8'))), ['a.txt']);
  });

  it('refuses file names a manifest line cannot hold', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-hash-'));
    writeFileSync(path.join(dir, 'a\nb'), '');
    assert.throws(() => hashFiles(dir, ['a\nb']), /a\nb: file names with line breaks/);
  });

  it('the base is the current release when its manifest is stored, else the newest that has one', () => {
    const st = buildState('releases/R2', ['R1', 'R2', 'R3'], []);
    assert.equal(chooseBase({ ...st, manifests: { R1: 'R1.x', R2: 'R2.x' } }), 'R2');
    assert.equal(chooseBase({ ...st, manifests: { R1: 'R1.x', R3: 'R3.x' } }), 'R3');
    assert.equal(chooseBase({ ...st, manifests: {} }), undefined);
  });
});

describe('delta transfer into a folder', () => {
  const setup = () => {
    const src = mkdtempSync(path.join(os.tmpdir(), 'slipway-src-'));
    const app = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-host-')), 'shop');
    process.env.XDG_CACHE_HOME = mkdtempSync(path.join(os.tmpdir(), 'slipway-cache-'));
    for (const d of ['releases', '.slipway']) mkdirSync(path.join(app, d), { recursive: true });
    const l = layout(app);
    const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
    mkdirSync(path.join(src, 'lib/deep dir'), { recursive: true });
    writeFileSync(path.join(src, 'server.js'), 'v1');
    writeFileSync(path.join(src, 'lib/deep dir/a -x.js'), 'a'.repeat(10_000));
    writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\n');
    chmodSync(path.join(src, 'run.sh'), 0o755);
    symlinkSync('lib/deep dir', path.join(src, 'link'));
    writeFileSync(path.join(src, 'old.txt'), 'x');
    const ship = async (id: string, files: string[]) => {
      const manifest = hashFiles(src, files);
      const stats = await transfer(host, l, { id, srcDir: src, manifest }, await readState(host, l));
      // what finalize does with the transfer's result
      mkdirSync(l.manifests, { recursive: true });
      renameSync(`${l.incoming}/${id}.delta/manifest`, `${l.manifests}/${id}.${manifest.digest}`);
      renameSync(`${l.incoming}/${id}`, l.release(id));
      symlinkSync(`releases/${id}`, `${l.current}.new`);
      renameSync(`${l.current}.new`, l.current);
      return { stats, manifest };
    };
    return { src, l, host, ship };
  };

  it('sends only changed files, hard-links the rest from the base, and records the manifest', async () => {
    const { src, l, ship } = setup();
    const first = await ship('R1', ['lib/deep dir/a -x.js', 'link', 'old.txt', 'run.sh', 'server.js']);
    assert.deepEqual([first.stats.filesSent, first.stats.filesLinked, first.stats.base], [5, 0, undefined]);

    writeFileSync(path.join(src, 'server.js'), 'v2');
    const second = await ship('R2', ['lib/deep dir/a -x.js', 'link', 'run.sh', 'server.js']);
    assert.deepEqual(
      [second.stats.filesSent, second.stats.filesLinked, second.stats.base, second.stats.staged],
      [1, 3, 'R1', false],
    );
    assert.ok(second.stats.bytesSent < 1000, `a one-file change sends ${second.stats.bytesSent} bytes`);
    const r1 = l.release('R1');
    const r2 = l.release('R2');
    assert.equal(readFileSync(path.join(r2, 'server.js'), 'utf8'), 'v2');
    assert.equal(readFileSync(path.join(r1, 'server.js'), 'utf8'), 'v1', 'the base release is untouched');
    assert.equal(
      statSync(path.join(r2, 'lib/deep dir/a -x.js')).ino,
      statSync(path.join(r1, 'lib/deep dir/a -x.js')).ino,
      'unchanged files are hard links',
    );
    assert.equal(statSync(path.join(r2, 'run.sh')).mode & 0o777, 0o755);
    assert.equal(readFileSync(path.join(r2, 'link/a -x.js'), 'utf8').length, 10_000);
    assert.deepEqual(readdirSync(r2).sort(), ['lib', 'link', 'run.sh', 'server.js']);
    assert.equal(readFileSync(`${l.manifests}/R2.${second.manifest.digest}`, 'utf8'), second.manifest.text);
  });

  it('streams files over 1 MiB, and fails the transfer when a file changed after it was hashed', async () => {
    const { src, l, host, ship } = setup();
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    writeFileSync(path.join(src, 'big.bin'), big);
    const first = await ship('R1', ['big.bin', 'server.js']);
    assert.equal(first.stats.filesSent, 2);
    assert.ok(readFileSync(path.join(l.release('R1'), 'big.bin')).equals(big), 'the large file arrives byte for byte');

    writeFileSync(path.join(src, 'server.js'), 'v2');
    const manifest = hashFiles(src, ['big.bin', 'server.js']);
    writeFileSync(path.join(src, 'server.js'), 'v2 and more'); // edited between hashing and sending
    await assert.rejects(
      transfer(host, l, { id: 'R2', srcDir: src, manifest }, await readState(host, l)),
      new RegExp(
        'local: transfer failed while reading the release here: ' +
          'server\\.js changed while it was being sent \\(2 bytes when hashed, 11 now\\)',
      ),
    );
    // the large file: one byte shorter when hashed than when sent
    writeFileSync(path.join(src, 'big.bin'), big.subarray(1));
    const again = hashFiles(src, ['big.bin', 'server.js']);
    writeFileSync(path.join(src, 'big.bin'), big);
    await assert.rejects(
      transfer(host, l, { id: 'R3', srcDir: src, manifest: again }, await readState(host, l)),
      /big\.bin changed while it was being sent \(3145734 bytes when hashed, 3145735 now\)/,
    );
    assert.ok(!existsSync(l.release('R2')) && !existsSync(l.release('R3')));
    assert.equal(readFileSync(path.join(l.release('R1'), 'server.js'), 'utf8'), 'v1');
  });

  it('starts from the tree the previous deploy staged: removes what went, adds what was sent', async () => {
    const { src, l, host, ship } = setup();
    const first = await ship('R1', ['lib/deep dir/a -x.js', 'link', 'old.txt', 'run.sh', 'server.js']);
    await host.run(stageArgv(l, 'R1', `R1.${first.manifest.digest}`, 0));
    const staged = path.join(l.meta, 'staged', 'R1');
    for (let i = 0; i < 100 && !existsSync(staged); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(staged), 'the stager finishes in the background');
    assert.equal(statSync(path.join(staged, 'run.sh')).ino, statSync(path.join(l.release('R1'), 'run.sh')).ino);

    // a changed file, a removed file, a folder emptied, a symlink that becomes a file, a new folder
    writeFileSync(path.join(src, 'server.js'), 'v2');
    rmSync(path.join(src, 'lib'), { recursive: true });
    rmSync(path.join(src, 'link'));
    writeFileSync(path.join(src, 'link'), 'now a file');
    mkdirSync(path.join(src, 'new'));
    writeFileSync(path.join(src, 'new/b.js'), 'b');
    const second = await ship('R2', ['link', 'new/b.js', 'old.txt', 'run.sh', 'server.js']);
    assert.deepEqual([second.stats.filesSent, second.stats.base, second.stats.staged], [3, 'R1', true]);
    assert.ok(!existsSync(staged), 'a staged tree is used once');
    const r2 = l.release('R2');
    const tree = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
    assert.deepEqual(tree(r2), ['link', 'new', 'new/b.js', 'old.txt', 'run.sh', 'server.js']);
    assert.deepEqual(
      ['link', 'new/b.js', 'server.js'].map((f) => readFileSync(path.join(r2, f), 'utf8')),
      ['now a file', 'b', 'v2'],
    );
    const r1 = l.release('R1');
    assert.deepEqual(tree(r1), [
      'lib',
      'lib/deep dir',
      'lib/deep dir/a -x.js',
      'link',
      'link/a -x.js',
      'old.txt',
      'run.sh',
      'server.js',
    ]); // link: still the symlink to lib/deep dir
    assert.equal(readFileSync(path.join(r1, 'server.js'), 'utf8'), 'v1', 'the base release is untouched');
    assert.ok(lstatSync(path.join(r1, 'link')).isSymbolicLink());
    assert.equal(
      statSync(path.join(r2, 'old.txt')).ino,
      statSync(path.join(r1, 'old.txt')).ino,
      'unchanged files are hard links',
    );

    // the stager of a newer release drops an older one's staged tree (renamed away first)
    await host.run(stageArgv(l, 'R1', `R1.${first.manifest.digest}`, 0));
    for (let i = 0; i < 100 && !existsSync(staged); i++) await new Promise((r) => setTimeout(r, 50));
    await host.run(stageArgv(l, 'R2', `R2.${second.manifest.digest}`, 0));
    const staged2 = path.join(l.meta, 'staged', 'R2');
    for (let i = 0; i < 100 && !existsSync(staged2); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(readdirSync(path.join(l.meta, 'staged')), ['R2']);
    // a staged tree that lacks a file (damaged, or taken while being deleted) is not used
    rmSync(path.join(staged2, 'run.sh'));
    writeFileSync(path.join(src, 'server.js'), 'v3');
    const third = await ship('R3', ['link', 'new/b.js', 'old.txt', 'run.sh', 'server.js']);
    assert.deepEqual([third.stats.filesSent, third.stats.base, third.stats.staged], [1, 'R2', false]);
    assert.deepEqual(tree(l.release('R3')), ['link', 'new', 'new/b.js', 'old.txt', 'run.sh', 'server.js']);
    assert.equal(readFileSync(path.join(l.release('R3'), 'server.js'), 'utf8'), 'v3');
  });
});

describe('dependencies built once', () => {
  it('a host gets them only when its platform is the one they were built on', () => {
    const plain = manifestOf([e('server.js', 'a')]);
    const withDeps = manifestOf([e('server.js', 'a'), e('node_modules/x.js', 'b')]);
    const release = { manifest: plain, deps: { manifest: withDeps, platform: 'Linux x86_64 glibc' } };
    assert.equal(manifestFor(release, 'Linux x86_64 glibc'), withDeps);
    assert.equal(manifestFor(release, 'Linux aarch64 glibc'), plain);
    assert.equal(manifestFor(release, undefined), plain);
    assert.equal(manifestFor({ manifest: plain }, 'Linux x86_64 glibc'), plain);
  });

  it("this machine's platform reads like a host's: uname -s, uname -m, C library", () => {
    assert.match(localPlatform(), /^Linux (x86_64|aarch64|\S+) (glibc|musl)$/);
  });
});

describe('many hosts', () => {
  it('rolling groups: a count or a percentage of the hosts, at least one, in order', async () => {
    const { rolloutGroups } = await import('../../src/engine/session.ts');
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'];
    assert.deepEqual(rolloutGroups(hosts, undefined), [hosts]);
    assert.deepEqual(rolloutGroups(hosts, 2), [['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    assert.deepEqual(rolloutGroups(hosts, '40%'), [['h1', 'h2'], ['h3', 'h4'], ['h5']]);
    assert.deepEqual(rolloutGroups(hosts, '10%'), [['h1'], ['h2'], ['h3'], ['h4'], ['h5']]);
    assert.deepEqual(rolloutGroups(hosts, '100%'), [hosts]);
  });

  it('eachHost runs at most `limit` at once and starts no more after a failure', async () => {
    const { eachHost } = await import('../../src/engine/session.ts');
    const hosts = Array.from({ length: 6 }, (_, i) => ({ name: `h${i}` }) as never);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const work = (fail: number) => async (_h: unknown, i: number) => {
      started.push(i);
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      if (i === fail) throw new Error(`h${i} failed`);
      return i;
    };
    assert.deepEqual(await eachHost(hosts, work(-1), 2), [0, 1, 2, 3, 4, 5]);
    assert.equal(peak, 2);
    started.length = 0;
    await assert.rejects(eachHost(hosts, work(1), 2), /h1 failed/);
    assert.deepEqual(started.sort(), [0, 1, 2], 'after h1 failed only the already running h2 finished');
  });
});
