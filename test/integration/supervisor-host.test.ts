// The supervisor runtime on a remote host over SSH (as on a host without
// systemd): the bundled daemon runs on the host's own Node.js (Debian's 18).
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway } from '../helpers/env.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const PORT = 3941;

describe('the supervisor runtime on a host over SSH', { skip }, () => {
  let host: TestHost;
  let app: string;
  const run = (...args: string[]) => slipway(app, args);

  before(() => {
    host = bootHost('web3', 2213);
    app = makeApp(
      `app: hello\nagent: false\nrun: node server.js\nport: ${PORT}\nruntime: supervisor\nroot: /opt/apps\n` +
        `health:\n  ` +
        `command: curl -fsS http://127.0.0.1:$PORT/health\n  timeout: 8\n  interval: 0.2\nssh:\n  config_file: ` +
        `${host.sshConfig}\nenvironments:\n  production:\n    hosts: [web3]\n`,
    );
  });
  after(() => {
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('setup installs the bundled supervisor; deploys and rolls back with a command health check', async () => {
    const s = await run('setup', 'production', '--json');
    assert.equal(s.exitCode, 0, s.all);
    const changes = JSON.parse(s.stdout).hosts[0].changes as string[];
    assert.ok(changes.includes('installed the supervisor'));
    assert.ok(changes.includes('created user hello'), changes.join('; '));
    assert.match(host.exec('node', '--version'), /^v18\./);

    const d1 = await run('deploy', 'production', '--json');
    assert.equal(d1.exitCode, 0, d1.all);
    const r1 = JSON.parse(d1.stdout).release;
    assert.equal((await get(`http://127.0.0.1:${PORT}/`)).body, `Hello from slipway (release ${r1})\n`);
    change(app, 'over ssh');
    const d2 = await run('deploy', 'production', '--json');
    assert.equal(d2.exitCode, 0, d2.all);
    assert.equal(
      (await get(`http://127.0.0.1:${PORT}/`)).body,
      `over ssh (release ${JSON.parse(d2.stdout).release})\n`,
    );
    // the app outlived every ssh session that started it
    const st = JSON.parse((await run('status', 'production', '--json')).stdout)[0];
    assert.equal(st.state, 'running');
    // logged in as root, the supervisor starts the app as the service user, and exec runs as it too
    assert.equal(host.exec('sh', '-c', `ps -o user= -p ${st.pid}`).trim(), 'hello');
    const who = await run('exec', 'production', '--', 'sh', '-c', 'id -un; echo "$HOME"; touch storage-probe');
    assert.equal(who.exitCode, 1, 'the release folder is not writable by the app');
    assert.equal(who.stdout.trim(), 'hello\n/nonexistent');
    assert.match(who.stderr, /touch: cannot touch 'storage-probe': Permission denied/);
    assert.equal(host.exec('stat', '-c', '%U %a', '/opt/apps/hello/.slipway/env').trim(), 'hello 400');

    const rb = await run('rollback', 'production');
    assert.equal(rb.exitCode, 0, rb.all);
    assert.equal((await get(`http://127.0.0.1:${PORT}/`)).body, `Hello from slipway (release ${r1})\n`);
    assert.match((await run('logs', 'production', '-n', '5')).stdout, /hello listening on 127\.0\.0\.1:3941/);
  });

  it("a failing command health check restores the previous release and shows the command's output", async () => {
    const before = host.exec('readlink', '/opt/apps/hello/current').trim();
    const cfg = readFileSync(path.join(app, 'slipway.yml'), 'utf8');
    writeFileSync(
      path.join(app, 'slipway.yml'),
      cfg.replace(/command: .*/, 'command: echo "migrations pending" >&2; exit 1').replace('timeout: 8', 'timeout: 2'),
    );
    commit(app, 'check that fails');
    const bad = await run('deploy', 'production');
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(bad.stderr, /command failed after \d+ attempt\(s\); last output:/);
    assert.match(bad.stderr, /migrations pending/);
    assert.equal(host.exec('readlink', '/opt/apps/hello/current').trim(), before);
    assert.equal((await get(`http://127.0.0.1:${PORT}/health`)).status, 200);
  });

  it('a release that crashes at start is given up on at once, with its exit status, not at the timeout', async () => {
    const before = host.exec('readlink', '/opt/apps/hello/current').trim();
    const cfg = readFileSync(path.join(app, 'slipway.yml'), 'utf8');
    writeFileSync(
      path.join(app, 'slipway.yml'),
      cfg
        .replace(/command: .*/, 'command: curl -fsS http://127.0.0.1:$PORT/health')
        .replace('timeout: 2', 'timeout: 60'),
    );
    writeFileSync(path.join(app, 'server.js'), 'console.error("no DATABASE_URL"); process.exit(3);\n');
    commit(app, 'crashes at start');
    const started = Date.now();
    const bad = await run('deploy', 'production');
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(
      bad.stderr,
      /the supervisor sees the app exit again and again within seconds of starting \(last: exit code 3\)/,
    );
    assert.match(bad.stderr, /no DATABASE_URL/);
    assert.ok(Date.now() - started < 60_000, 'long before the 60 s timeout');
    assert.equal(host.exec('readlink', '/opt/apps/hello/current').trim(), before);
    assert.equal((await get(`http://127.0.0.1:${PORT}/health`)).status, 200);
  });
});
