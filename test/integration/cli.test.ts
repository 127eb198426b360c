// The CLI as a user meets it: init, config, --version, and errors for bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, resolveEnvironment } from '../../src/config/load.ts';
import { ROOT, slipway } from '../helpers/env.ts';

describe('the command line', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-cli-'));
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: '@acme/Shop_Front', scripts: { start: 'node dist/main.js' } }),
    );
    writeFileSync(path.join(dir, 'package-lock.json'), '{}');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--version prints the package version', async () => {
    const r = await slipway(dir, ['--version']);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('init writes a commented config that validates, and will not overwrite it', async () => {
    const r = await slipway(dir, ['init']);
    assert.equal(r.exitCode, 0, r.all);
    const text = readFileSync(path.join(dir, 'slipway.yml'), 'utf8');
    assert.match(text, /^# slipway\.yml/);
    const loaded = loadConfig(path.join(dir, 'slipway.yml'));
    assert.equal(loaded.data.app, 'shop-front');
    const local = resolveEnvironment(loaded, 'local');
    assert.equal(local.run, 'node dist/main.js');
    assert.equal(local.install.command, 'npm ci --omit=dev');
    assert.equal(resolveEnvironment(loaded, 'production').runtime, 'systemd');
    const again = await slipway(dir, ['init']);
    assert.equal(again.exitCode, 2);
    assert.match(again.stderr, /slipway\.yml already exists/);
  });

  it('config prints the merged environment; --schema prints the JSON Schema', async () => {
    const r = await slipway(dir, ['config', 'local', '--json']);
    assert.equal(r.exitCode, 0, r.all);
    const merged = JSON.parse(r.stdout).local;
    assert.equal(merged.port, 3900);
    assert.deepEqual(merged.hosts, ['local']);
    assert.equal(merged.root, path.join(dir, '.slipway-local'));
    // what the user wrote, merged: no internal fields, no other runtime's settings
    for (const internal of ['appDir', 'dir', 'file', 'targets', 'environment', 'docker', 'static_dir'])
      assert.equal(merged[internal], undefined, internal);
    const yaml = await slipway(dir, ['config']);
    assert.equal(yaml.exitCode, 0, yaml.all);
    assert.doesNotMatch(yaml.stdout, /[&*]a\d/, 'no YAML anchors or aliases');
    const schema = await slipway(dir, ['config', '--schema']);
    assert.equal(JSON.parse(schema.stdout).title, 'slipway.yml');
  });

  it('bad input: exit 2 naming the file, position or option, and what to do', async () => {
    writeFileSync(
      path.join(dir, 'bad.yml'),
      'app: shop\nrun: x\nkeep_releases: 1\nenvironments:\n  production:\n    hosts: [web1]\n',
    );
    const bad = await slipway(dir, ['-c', 'bad.yml', 'deploy', 'production']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /bad\.yml:3:16: keep_releases: Too small: expected number to be >=2/);
    const env = await slipway(dir, ['deploy', 'prodution']);
    assert.equal(env.exitCode, 2);
    assert.match(
      env.stderr,
      /slipway\.yml:\d+:1: environments: no environment "prodution" → did you mean "production"\?/,
    );
    const missing = await slipway(dir, ['-c', 'nope.yml', 'status', 'production']);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /nope\.yml: not found\n {2}→ run `slipway init`/);
    const usage = await slipway(dir, ['deploy']);
    assert.equal(usage.exitCode, 2);
    assert.match(usage.stderr, /missing required argument 'env'/);
    const wait = await slipway(dir, ['deploy', 'local', '--lock-wait', 'soon']);
    assert.equal(wait.exitCode, 2);
    assert.match(wait.stderr, /expected a number of seconds/);
  });

  it(
    "lock release: refused while its deploy runs here, --force for another machine's, free for a dead one; " +
      'status says STALE',
    async () => {
      const lock = path.join(dir, '.slipway-local/shop-front/.slipway/lock');
      const hold = (info: object) => {
        mkdirSync(lock, { recursive: true });
        writeFileSync(
          path.join(lock, 'info.json'),
          JSON.stringify({
            user: 'ana',
            time: '2026-12-01T10:00:00.000Z',
            command: 'slipway deploy local',
            token: 't',
            ...info,
          }),
        );
      };
      hold({ machine: os.hostname(), pid: process.pid });
      const running = await slipway(dir, ['lock', 'release', 'local']);
      assert.equal(running.exitCode, 3, running.all);
      assert.match(
        running.stderr,
        new RegExp(
          `local: the lock is held by a deploy still running here: ana@${os.hostname()} \\(pid ${process.pid}\\)`,
        ),
      );
      assert.ok(existsSync(lock), 'a running deploy keeps its lock');

      hold({ machine: 'laptop-of-ana', pid: 4242 });
      const other = await slipway(dir, ['lock', 'release', 'local']);
      assert.equal(other.exitCode, 3, other.all);
      assert.match(other.stderr, /the lock is held from another machine: ana@laptop-of-ana \(pid 4242\)/);
      assert.match(other.stderr, /\n.*→ if that deploy is gone: slipway lock release local --force/);
      assert.ok(existsSync(lock));
      const forced = await slipway(dir, ['lock', 'release', 'local', '--force']);
      assert.equal(forced.exitCode, 0, forced.all);
      assert.ok(!existsSync(lock));

      const dead = spawnSync('true').pid!;
      hold({ machine: os.hostname(), pid: dead });
      const status = await slipway(dir, ['lock', 'status', 'local']);
      assert.match(
        status.stdout,
        new RegExp(`local: locked by ana@${os.hostname()} \\(pid ${dead}\\).* — STALE: that process is gone`),
      );
      const stale = await slipway(dir, ['lock', 'release', 'local']);
      assert.equal(stale.exitCode, 0, stale.all);
      assert.ok(!existsSync(lock));
    },
  );
});
