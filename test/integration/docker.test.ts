// The docker runtime on a real host with its own Docker engine, behind Caddy:
// images built here, shipped without a registry (only missing layers), blue/green
// containers, a rollback to a kept image with no build, a failing release stopped.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway } from '../helpers/env.ts';
import { startLoad } from '../helpers/load.ts';
import { BASE, dockerUnavailable, ensureBaseImage } from '../helpers/docker.ts';
import { bootHost, type TestHost } from '../helpers/testhost.ts';

const skip = dockerUnavailable();

describe('the docker runtime behind Caddy', { skip }, () => {
  let host: TestHost;
  let app: string;
  const URL = 'http://127.0.0.1:8497/';
  const run = (...args: string[]) => slipway(app, args);

  before(() => {
    ensureBaseImage();
    host = bootHost('web-docker', 2217);
    // The host shares this machine's network namespace: its engine must not add a bridge or firewall rules.
    host.exec(
      'sh',
      '-c',
      'mkdir -p /etc/docker && echo \'{"bridge": "none", "iptables": false}\' > /etc/docker/daemon.json',
    );
    app = makeApp(
      `app: hello\nagent: false\nruntime: docker\nport: 3991\nstop_timeout: 3\nproxy:\n  port: 8497\n` +
        `  drain_timeout: ` +
        `5\nshared:\n  dirs: [storage]\nhealth:\n  path: /health\n  timeout: 12\n  interval: 0.3\nssh:\n  ` +
        `config_file: ${host.sshConfig}\nenvironments:\n  production:\n    hosts: [web-docker]\n`,
      {
        Dockerfile: `FROM ${BASE}\nWORKDIR /app\nCOPY . /app\nUSER nobody\nCMD ["node", "server.js"]\n`,
        '.dockerignore': '.git\n',
      },
    );
  });
  after(() => {
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  let first = '';
  it('setup installs Docker; the first deploy ships the whole image', async () => {
    const s = await run('setup', 'production', '--json');
    assert.equal(s.exitCode, 0, s.all);
    assert.ok(JSON.parse(s.stdout).hosts[0].changes.some((c: string) => /installed .*docker\.io/.test(c)));
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    first = JSON.parse(d.stdout).release;
    assert.match(d.stderr, /Ship image .* 3 layer\(s\) sent, 0 already on the host/);
    assert.deepEqual(await get(URL), { status: 200, body: `Hello from slipway (release ${first})\n` });
    assert.equal(host.exec('docker', 'inspect', '--format', '{{.Config.User}}', 'slipway-hello-b').trim(), 'nobody');
    assert.match(d.stderr, /Export image \(docker save\)/);
  });

  it("the image's non-root USER owns the shared folders: the app writes its database there", async () => {
    assert.equal(host.exec('stat', '-c', '%U', '/srv/hello/shared/storage').trim(), 'nobody');
    // a database beside its journal: the folder itself must be writable, not only a file in it
    const db = await run(
      'exec',
      'production',
      '--',
      'sh',
      '-c',
      'echo row > storage/app.db && touch storage/app.db-journal && id -un',
    );
    assert.equal(db.exitCode, 0, db.all);
    assert.equal(db.stdout.trim(), 'nobody');
    assert.equal(host.exec('cat', '/srv/hello/shared/storage/app.db'), 'row\n');
  });

  it('a deploy of an unchanged build exports nothing: the host has the image, which is only tagged', async () => {
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    assert.doesNotMatch(d.stderr, /Export image/);
    assert.match(d.stderr, /Ship image .* already on the host\(s\): tagged/);
    first = JSON.parse(d.stdout).release;
    assert.deepEqual(await get(URL), { status: 200, body: `Hello from slipway (release ${first})\n` });
  });

  it('a change ships only its layer, switches with no failed request, rolls back to the kept image', async (t) => {
    const load = startLoad(URL, 2);
    t.after(() => load.stop());
    change(app, 'docker two');
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    assert.match(d.stderr, /Ship image .* 1 layer\(s\) sent, 2 already on the host, \d+(\.\d)? KiB/);
    assert.equal((await get(URL)).body, `docker two (release ${JSON.parse(d.stdout).release})\n`);
    const rb = await run('rollback', 'production');
    assert.equal(rb.exitCode, 0, rb.all);
    assert.doesNotMatch(rb.stderr, /Build|Ship/);
    const result = await load.stop();
    assert.equal((await get(URL)).body, `Hello from slipway (release ${first})\n`);
    assert.equal(result.failed, 0, JSON.stringify(result.statuses));
  });

  it('a release whose container never becomes healthy is stopped and gets no traffic', async () => {
    writeFileSync(
      path.join(app, 'Dockerfile'),
      `FROM ${BASE}\nWORKDIR /app\nCOPY . /app\nUSER nobody\nCMD ["node", "-e", "process.exit(3)"]\n`,
    );
    commit(app, 'crashing container');
    const bad = await run('deploy', 'production');
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(bad.stderr, /never received traffic and was stopped/);
    assert.match(
      bad.stderr,
      /the container slipway-hello-[ab] kept exiting \(restarted \d+ times, last exit status 3\)/,
    );
    assert.equal((await get(URL)).body, `Hello from slipway (release ${first})\n`);
  });

  it('logs and exec reach the containers', async () => {
    assert.match((await run('logs', 'production', '-n', '20')).stdout, /hello listening on 127\.0\.0\.1:399[12]/);
    const ex = await run('exec', 'production', '--', 'id -un; pwd; echo $PORT');
    assert.equal(ex.exitCode, 0, ex.all);
    const [user, cwd, port] = ex.stdout.trim().split('\n');
    assert.deepEqual([user, cwd], ['nobody', '/app']);
    // $PORT is the live slot's: the instance that answers through the proxy
    assert.match(port!, /^399[12]$/);
    assert.equal((await get(`http://127.0.0.1:${port}/`)).body, (await get(URL)).body);
  });

  it('docker.build: remote builds the image on the host from the release', async () => {
    // A remote build needs its base image on the host (there is no registry to pull it from).
    execFileSync('sh', ['-c', `docker save ${BASE} | ssh -F "$1" web-docker docker load`, 'sh', host.sshConfig], {
      stdio: 'ignore',
    });
    writeFileSync(
      path.join(app, 'Dockerfile'),
      `FROM ${BASE}\nWORKDIR /app\nCOPY . /app\nUSER nobody\nCMD ["node", "server.js"]\n`,
    );
    const cfg = readFileSync(path.join(app, 'slipway.yml'), 'utf8');
    writeFileSync(
      path.join(app, 'slipway.yml'),
      cfg.replace('runtime: docker\n', 'runtime: docker\ndocker:\n  build: remote\n'),
    );
    change(app, 'built on the host');
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    assert.match(d.stderr, /Build image on the host/);
    assert.doesNotMatch(d.stderr, /Ship image/);
    assert.equal((await get(URL)).body, `built on the host (release ${JSON.parse(d.stdout).release})\n`);
  });
});
