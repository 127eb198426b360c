import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import type { SlipwayError } from '../../src/errors.ts';
import { RotatingLog } from '../../src/runtime/supervisor-daemon.ts';
import { supervisorRuntime } from '../../src/runtime/supervisor.ts';
import type { Host } from '../../src/transport/host.ts';

describe('supervisor log rotation', () => {
  it('rotates past the size limit, keeping three old files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-log-'));
    try {
      const file = path.join(dir, 'app.log');
      const log = new RotatingLog(file, () => 10);
      for (const line of ['one......\n', 'two......\n', 'three....\n', 'four.....\n', 'five.....\n', 'six\n'])
        log.write(line);
      assert.deepEqual(readdirSync(dir).sort(), ['app.log', 'app.log.1', 'app.log.2', 'app.log.3']);
      assert.equal(readFileSync(file, 'utf8'), 'six\n');
      assert.equal(readFileSync(`${file}.1`, 'utf8'), 'five.....\n');
      assert.equal(readFileSync(`${file}.3`, 'utf8'), 'three....\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the user the supervisor runs the app as', () => {
  const cfgOf = (user?: string) =>
    resolveEnvironment(
      parseConfig(`app: shop\nrun: x\n${user ? `user: ${user}\n` : ''}environments:\n  p:\n    hosts: [h]\n`, 'y'),
      'p',
    );
  const hostAs = (loginUser: string, kind: 'ssh' | 'local' = 'ssh') =>
    ({ name: 'h', loginUser, target: { name: 'h', kind, role: 'web' } }) as unknown as Host;

  it('logged in as root: the service user (the app name by default)', () => {
    assert.equal(supervisorRuntime.appUser(cfgOf(), hostAs('root')), 'shop');
    assert.equal(supervisorRuntime.appUser(cfgOf('svc'), hostAs('root')), 'svc');
  });

  it('logged in as another user: that user; a user: it cannot switch to is refused, saying how to fix it', () => {
    assert.equal(supervisorRuntime.appUser(cfgOf(), hostAs('deploy')), undefined);
    assert.equal(supervisorRuntime.appUser(cfgOf('deploy'), hostAs('deploy')), undefined);
    assert.throws(
      () => supervisorRuntime.appUser(cfgOf('svc'), hostAs('deploy')),
      (e: SlipwayError) =>
        e.kind === 'config' &&
        e.message ===
          'h: user: svc cannot be honoured: the supervisor runs as the login user deploy, and only root can ' +
            'start the app as another user' &&
        e.hint === 'log in as root (the app then runs as svc), or remove `user:` for this environment',
    );
  });
});
