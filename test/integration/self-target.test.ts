// The `self` target: slipway runs on the server itself (as an agent or a git push will), with
// no SSH in between: a real Debian host with systemd, in its own network, gets slipway's bundle
// and an app, and runs setup, deploy, a change, a rollback and status there. The app runs under
// systemd as its service user (`_hello`: a name Debian accepts, like the source article's
// `_app`), behind Caddy, and is reached from outside on the host's port 80.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { get, ROOT } from '../helpers/env.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const tarOf = (dir: string, what: string) =>
  execFileSync('tar', ['-C', dir, '-cf', '-', what], { maxBuffer: 256 * 1024 * 1024 });
const ADDRESS = '10.77.41.2';
const CONFIG = `app: hello
agent: false
run: node server.js
user: _hello
port: 3000
health: { path: /health, timeout: 10 }
proxy: { port: 80, drain_timeout: 1 }
environments:
  production:
    hosts: [self]
`;

describe('the self target: slipway on the server itself', { skip }, () => {
  let host: TestHost;
  const ssh = (command: string, input?: Buffer) =>
    execFileSync('ssh', ['-F', host.sshConfig, host.name, command], {
      input,
      encoding: 'utf8',
      stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  /** slipway run on the host, in the app's folder; its exit code and output */
  const slipwayThere = (...args: string[]) => {
    try {
      return { code: 0, out: ssh(`cd /root/hello && node /opt/slipway/dist/slipway.mjs ${args.join(' ')} 2>&1`) };
    } catch (e) {
      const err = e as { status: number; stdout: string };
      return { code: err.status, out: err.stdout };
    }
  };
  const page = async () => (await get(`http://${ADDRESS}/`)).body.trim();
  const setMessage = (message: string) => ssh(`printf '%s\\n' '${message}' > /root/hello/message.txt`);

  before(() => {
    host = bootHost('self1', 22, { address: ADDRESS, layer: SERVER_LAYER });
    ssh('mkdir -p /opt/slipway && tar -C /opt/slipway -xf -', tarOf(ROOT, 'dist'));
    const app = mkdtempSync(path.join(os.tmpdir(), 'slipway-self-'));
    try {
      cpSync(path.join(ROOT, 'examples/hello'), app, { recursive: true });
      writeFileSync(path.join(app, 'slipway.yml'), CONFIG);
      ssh('mkdir -p /root/hello && tar -C /root/hello -xf -', tarOf(app, '.'));
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
  after(() => host?.down());

  it('sets up this machine: the service user, the unit, Caddy in API mode', () => {
    const r = slipwayThere('setup', 'production');
    assert.equal(r.code, 0, r.out);
    assert.match(ssh('id -un _hello'), /^_hello$/m);
    assert.equal(ssh('systemctl is-active caddy-api.service').trim(), 'active');
  });

  it('deploys, changes, rolls back, each seen from outside; the app runs as its user', async () => {
    setMessage('Hello from self v1');
    const first = slipwayThere('deploy', 'production');
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /is live on self/);
    assert.match(await page(), /^Hello from self v1 \(release \d{8}T\d{9}Z\)$/);
    assert.notEqual(ssh("pgrep -u _hello -f '[n]ode server.js' || true").trim(), '', 'the app runs as _hello');
    assert.equal(ssh("pgrep -u root -f '[n]ode server.js' || true").trim(), '', 'not as root');

    setMessage('Hello from self v2');
    const second = slipwayThere('deploy', 'production');
    assert.equal(second.code, 0, second.out);
    assert.match(await page(), /^Hello from self v2 \(release \d{8}T\d{9}Z\)$/);

    const back = slipwayThere('rollback', 'production');
    assert.equal(back.code, 0, back.out);
    assert.match(await page(), /^Hello from self v1 \(release \d{8}T\d{9}Z\)$/);
    const status = slipwayThere('status', 'production');
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /^self: Synced to \S+$/m);
    assert.match(status.out, /^self: Healthy$/m);
    const history = ssh('cat /srv/hello/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; host: string });
    assert.deepEqual(
      history.map((h) => [h.event, h.host]),
      [
        ['started', 'self'],
        ['succeeded', 'self'],
        ['started', 'self'],
        ['succeeded', 'self'],
        ['rolled_back', 'self'],
      ],
    );
  });
});
