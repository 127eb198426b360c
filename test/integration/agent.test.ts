// The slipway agent on a real systemd host: installed by setup, it sees drift made by hand (a stopped app, an edited
// or deleted unit, a deleted `current`, a changed release file, Caddy's route deleted) within seconds, heals what
// the host can heal under the deploy lock, records it, reports what it cannot with the command that fixes it, and
// puts the previous healthy release back when the desired one fails its health check (marking it bad).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway, within } from '../helpers/env.ts';
import { BASE, dockerUnavailable, ensureBaseImage } from '../helpers/docker.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const APP_PORT = 3971;
const URL = `http://127.0.0.1:${APP_PORT}`;

function config(sshConfig: string): string {
  return `app: hello
run: node server.js
port: ${APP_PORT}
health: { path: /health, timeout: 8, interval: 0.2 }
ssh: { config_file: ${sshConfig} }
environments:
  production:
    hosts: [agent1]
`;
}

/** The app's server, failing its health check on a host that has /etc/slipway-test-unhealthy. */
const FAILS_WHERE_MARKED = (app: string) =>
  readFileSync(path.join(app, 'server.js'), 'utf8').replace(
    "if (req.url === '/health') {",
    "if (req.url === '/health' && require('node:fs').existsSync('/etc/slipway-test-unhealthy')) {\n    " +
      "res.writeHead(500);\n    return res.end('unhealthy\\n');\n  }\n  if (req.url === '/health') {",
  );

/** The host's `healed` history records of the app `hello`. */
const healedOn = (host: TestHost) =>
  host
    .exec('cat', '/srv/hello/.slipway/history.jsonl')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; found?: string[]; did?: string[]; user: string })
    .filter((r) => r.event === 'healed');

describe('the slipway agent on a systemd host', { skip }, () => {
  let host: TestHost;
  let app: string;
  const run = (...args: string[]) => slipway(app, args);
  const answers = async (text: string) => (await get(URL)).body.includes(text);
  const agentStatus = () =>
    JSON.parse(host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent.sock', 'http://agent/status')) as {
      pid: number;
      apps: Record<string, { heals: number[]; attempts: number; degraded?: { why: string; fix: string } }>;
    };
  const healed = () => healedOn(host);

  before(async () => {
    host = bootHost('agent1', 2218);
    app = makeApp(config(host.sshConfig));
    const setup = await run('setup', 'production', '--json');
    assert.equal(setup.exitCode, 0, setup.all);
    assert.ok(JSON.parse(setup.stdout).hosts[0].changes.includes('installed the agent'), setup.stdout);
    change(app, 'version one');
    const d = await run('deploy', 'production');
    assert.equal(d.exitCode, 0, d.all);
  });
  // each test's drift on its own: the heals of the ones before do not count towards the flap limit
  const resume = () =>
    host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent.sock', '-X', 'POST', 'http://agent/resume?app=hello');
  beforeEach(() => void resume());
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('runs as a service with a root-only socket and no TCP port; setup again changes nothing', async () => {
    assert.equal(host.exec('systemctl', 'is-active', 'slipway-agent').trim(), 'active');
    assert.equal(host.exec('stat', '-c', '%a %U', '/run/slipway-agent.sock').trim(), '600 root');
    assert.equal(host.exec('stat', '-c', '%a', '/var/lib/slipway-agent/apps/hello.json').trim(), '600');
    const pid = String(agentStatus().pid);
    assert.doesNotMatch(host.exec('ss', '-ltnpH'), new RegExp(`pid=${pid},`));
    const again = await run('setup', 'production', '--json');
    assert.deepEqual(JSON.parse(again.stdout).hosts[0].changes, []);
    assert.equal(String(agentStatus().pid), pid, 'an unchanged agent is not restarted');
  });

  it('a stopped app is started again within seconds, and the heal is recorded', async () => {
    const records = healed().length;
    host.exec('systemctl', 'stop', 'slipway-hello');
    const ms = await within(10_000, () => answers('version one'));
    assert.ok(ms < 10_000);
    // the record follows the heal's health check, which may end after the app already answers
    await within(10_000, () => healed().length > records);
    const last = healed().at(-1)!;
    assert.equal(last.user, 'slipway-agent');
    assert.deepEqual(last.found, ['the app is not running']);
    assert.match(last.did!.join(), /started .* \(switch, restart, health check\)/);
  });

  it('an edited unit is rewritten, a deleted one too', async () => {
    const unit = '/etc/systemd/system/slipway-hello.service';
    const before = host.exec('cat', unit);
    host.exec('sh', '-c', `echo 'Environment=EDITED=1' >> ${unit}`);
    await within(10_000, () => host.exec('cat', unit) === before);
    host.exec('rm', unit);
    await within(10_000, () => host.exec('sh', '-c', `cat ${unit} 2>/dev/null || true`) === before);
    await within(10_000, () => answers('version one'));
    // the record follows the heal's restart and health check
    await within(10_000, () => healed().some((r) => r.found!.some((f) => /runtime config was changed/.test(f))));
  });

  it('a deleted `current` is pointed at the desired release again', async () => {
    const target = host.exec('readlink', '/srv/hello/current').trim();
    host.exec('rm', '/srv/hello/current');
    await within(10_000, () => host.exec('sh', '-c', 'readlink /srv/hello/current || true').trim() === target);
    await within(10_000, () => answers('version one'));
  });

  it('while a deploy holds the lock the agent does not touch the app', async () => {
    // the heal before this one lets go of its lock once it has recorded what it did
    await within(10_000, () => host.exec('sh', '-c', 'test -e /srv/hello/.slipway/lock && echo held || true') === '');
    const info = JSON.stringify({ user: 'ana', machine: 'laptop', pid: 1, time: new Date().toISOString(), token: 't' });
    host.exec(
      'sh',
      '-c',
      `mkdir /srv/hello/.slipway/lock && printf '%s' '${info}' > /srv/hello/.slipway/lock/info.json`,
    );
    host.exec('systemctl', 'stop', 'slipway-hello');
    await new Promise((r) => setTimeout(r, 5000));
    assert.match(host.exec('sh', '-c', 'systemctl is-active slipway-hello || true').trim(), /^(inactive|failed)$/);
    host.exec('rm', '-rf', '/srv/hello/.slipway/lock');
    await within(10_000, () => answers('version one'));
  });

  it('more than 5 heals in 5 minutes: healing stops, Degraded says why, until resumed', async () => {
    for (let i = 0; i < 6; i++) {
      const heals = healed().length;
      host.exec('systemctl', 'stop', 'slipway-hello');
      // healed and seen healthy after it (so the backoff starts over: the stops come one at a time)
      await within(15_000, () => healed().length > heals && agentStatus().apps.hello?.attempts === 0);
    }
    host.exec('systemctl', 'stop', 'slipway-hello');
    await within(15_000, () => /healing stopped/.test(agentStatus().apps.hello?.degraded?.why ?? ''));
    assert.equal((await get(URL)).status, 0, 'not healed once stopped');
    assert.equal(
      agentStatus().apps.hello!.degraded!.fix,
      'find the cause (slipway logs production), then slipway sync production',
    );
    resume();
    await within(10_000, () => answers('version one'));
  });

  it('a changed release file is reported with the command that fixes it, not run', async () => {
    const target = host.exec('readlink', '/srv/hello/current').trim();
    host.exec('sh', '-c', `echo tampered >> /srv/hello/${target}/server.js`);
    await within(70_000, () => !!agentStatus().apps.hello?.degraded);
    const { why, fix } = agentStatus().apps.hello!.degraded!;
    assert.match(why, /is changed on the host/);
    assert.equal(fix, `slipway sync production (copies ${target.replace('releases/', '')} back from a peer host)`);
  });

  it('kill -9 of the agent: systemd starts it again and it remembers what it did', async () => {
    const before = agentStatus();
    host.exec('kill', '-9', String(before.pid));
    await within(10_000, () => {
      try {
        return agentStatus().pid !== before.pid;
      } catch {
        return false;
      }
    });
    assert.deepEqual(agentStatus().apps.hello!.heals, before.apps.hello!.heals);
  });

  it('status says the agent is alive and what it last did; agent logs shows what it found', async () => {
    const status = await run('status', 'production');
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout, /agent1: agent: alive \(\d+\.\d+\.\d+, pid \d+, since .*\); last heal .*: started /);
    const json = JSON.parse((await run('status', 'production', '--json')).stdout) as { agent: { alive: boolean } }[];
    assert.equal(json[0]!.agent.alive, true);
    const logs = await run('agent', 'logs', 'production', '-n', '200');
    assert.equal(logs.exitCode, 0, logs.all);
    assert.match(logs.stdout, /hello: found the app is not running/);
  });
});

// Behind Caddy (blue/green), on a host in its own network: the route Caddy loses is put back, and a desired release
// that fails its health check with everything in place gives way to the previous healthy one, marked bad.
describe('the slipway agent behind Caddy', { skip }, () => {
  let host: TestHost;
  let app: string;
  const run = (...args: string[]) => slipway(app, args);
  const served = () => host.exec('sh', '-c', 'curl -s --max-time 2 http://127.0.0.1:8080/ || true').trim();
  const history = () =>
    host
      .exec('cat', '/srv/hello/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; release: string; found?: string[]; user: string; by?: string });
  const check = () =>
    host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent.sock', '-X', 'POST', 'http://agent/check');
  let v1 = '';
  let v2 = '';

  before(async () => {
    host = bootHost('agent2', 22, { address: '10.77.91.2', layer: SERVER_LAYER });
    app = makeApp(
      `app: hello
run: node server.js
port: 3000
proxy: { port: 8080, drain_timeout: 1 }
health: { path: /health, timeout: 4, interval: 0.2 }
ssh: { config_file: ${host.sshConfig} }
environments:
  production:
    hosts: [agent2]
`,
    );
    const setup = await run('setup', 'production');
    assert.equal(setup.exitCode, 0, setup.all);
    for (const version of ['v1', 'v2']) {
      if (version === 'v2') writeFileSync(path.join(app, 'server.js'), FAILS_WHERE_MARKED(app));
      change(app, `Hello ${version}`);
      const d = await run('deploy', 'production', '--json');
      assert.equal(d.exitCode, 0, d.all);
      if (version === 'v1') v1 = JSON.parse(d.stdout).release;
      else v2 = JSON.parse(d.stdout).release;
    }
    assert.equal(served(), `Hello v2 (release ${v2})`);
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it("Caddy's route deleted: put back within seconds, and the heal recorded", async () => {
    host.exec('curl', '-s', '-X', 'DELETE', 'http://127.0.0.1:2019/id/slipway_hello');
    assert.doesNotMatch(served(), /Hello v2/);
    await within(10_000, () => served() === `Hello v2 (release ${v2})`);
    await within(10_000, () => history().some((r) => r.event === 'healed' && /Caddy/.test(r.found!.join())));
  });

  it('a heal leaves the desired release unhealthy: the previous healthy one serves again, marked bad', async () => {
    // the app going unhealthy on its own is the app's failure, not drift; the heal of its stop reveals it
    host.exec('touch', '/etc/slipway-test-unhealthy');
    host.exec('sh', '-c', 'systemctl stop "slipway-hello*"');
    await within(30_000, () => served() === `Hello v1 (release ${v1})`);
    await within(10_000, () => history().some((r) => r.event === 'marked_bad' && r.release === v2));
    const bad = history().find((r) => r.event === 'marked_bad' && r.release === v2)!;
    assert.equal(bad.user, 'slipway-agent');
    assert.equal(JSON.parse(host.exec('cat', '/srv/hello/.slipway/desired.json')).release, v1);
    const releases = await run('releases', 'production');
    assert.match(releases.stdout, new RegExp(`${v2}\\s+bad`));
    // nothing heals back to it, though it is the newest
    host.exec('rm', '/etc/slipway-test-unhealthy');
    check();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(served(), `Hello v1 (release ${v1})`);
  });

  it('a static site beside it: its deleted `current` and its deleted Caddy site are both put back', async () => {
    const site = makeApp(
      `app: site\nruntime: static\nstatic_dir: dist\ninclude: ["dist/**"]\nproxy: { port: 8081 }\n` +
        `health: { path: /index.html, timeout: 3, interval: 0.2 }\nssh: { config_file: ${host.sshConfig} }\n` +
        `environments:\n  production:\n    hosts: [agent2]\n`,
    );
    try {
      mkdirSync(path.join(site, 'dist'));
      writeFileSync(path.join(site, 'dist/index.html'), '<h1>static one</h1>\n');
      commit(site, 'one');
      for (const command of ['setup', 'deploy']) {
        const r = await slipway(site, [command, 'production']);
        assert.equal(r.exitCode, 0, r.all);
      }
      const page = () => host.exec('sh', '-c', 'curl -s --max-time 2 http://127.0.0.1:8081/ || true').trim();
      assert.equal(page(), '<h1>static one</h1>');
      host.exec('rm', '/srv/site/current');
      assert.notEqual(page(), '<h1>static one</h1>');
      await within(10_000, () => page() === '<h1>static one</h1>');
      host.exec('curl', '-s', '-X', 'DELETE', 'http://127.0.0.1:2019/id/slipway_site');
      assert.notEqual(page(), '<h1>static one</h1>');
      await within(10_000, () => page() === '<h1>static one</h1>');
      const healed = host
        .exec('cat', '/srv/site/.slipway/history.jsonl')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; found?: string[] })
        .filter((r) => r.event === 'healed');
      assert.equal(healed.length, 2, JSON.stringify(healed));
      assert.match(healed[0]!.found!.join(), /current points at nothing/);
      assert.match(healed[1]!.found!.join(), /Caddy's site/);
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });
});

// The docker runtime: the container that serves removed by hand is started again from the release's image.
describe('the slipway agent with the docker runtime', { skip: dockerUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  const served = () => host.exec('sh', '-c', 'curl -s --max-time 2 http://127.0.0.1:8471/ || true').trim();
  const serving = () =>
    host.exec('docker', 'ps', '--filter', 'name=slipway-hello-', '--format', '{{.Names}}').trim().split('\n');

  before(async () => {
    ensureBaseImage();
    host = bootHost('agent-docker', 2219);
    // the host shares this machine's network namespace: its engine must not add a bridge or firewall rules
    host.exec(
      'sh',
      '-c',
      'mkdir -p /etc/docker && echo \'{"bridge": "none", "iptables": false}\' > /etc/docker/daemon.json',
    );
    app = makeApp(
      `app: hello\nruntime: docker\nport: 3981\nstop_timeout: 3\nproxy: { port: 8471, drain_timeout: 1 }\n` +
        `health: { path: /health, timeout: 12, interval: 0.3 }\nssh: { config_file: ${host.sshConfig} }\n` +
        `environments:\n  production:\n    hosts: [agent-docker]\n`,
      {
        Dockerfile: `FROM ${BASE}\nWORKDIR /app\nCOPY . /app\nUSER nobody\nCMD ["node", "server.js"]\n`,
        '.dockerignore': '.git\n',
      },
    );
    for (const command of ['setup', 'deploy']) {
      const r = await slipway(app, [command, 'production']);
      assert.equal(r.exitCode, 0, r.all);
    }
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('the serving container removed: a container of the desired release serves again, the heal recorded', async () => {
    const release = JSON.parse(host.exec('cat', '/srv/hello/.slipway/desired.json')).release as string;
    assert.equal(served(), `Hello from slipway (release ${release})`);
    const [name] = serving();
    assert.match(name!, /^slipway-hello-[ab]$/);
    const running = () =>
      host.exec('docker', 'ps', '-q', '--no-trunc', '--filter', 'name=slipway-hello-').trim().split('\n');
    const [removed] = running();
    host.exec('docker', 'rm', '-f', name!);
    // the agent may heal it before a request could see it down: a new container is what tells
    await within(30_000, () => served() === `Hello from slipway (release ${release})`);
    assert.equal(running().length, 1);
    assert.notEqual(running()[0], removed, 'a new container serves');
    // the record is written once the heal's health check has passed, just after the app answers
    const healed = () => healedOn(host);
    await within(10_000, () => healed().length > 0);
    assert.equal(healed().length, 1, JSON.stringify(healed()));
    assert.match(healed()[0]!.found!.join(), /the app is not running/);
  });
});

describe('the slipway agent with the supervisor runtime', { skip }, () => {
  let host: TestHost;
  let app: string;
  const URL = 'http://127.0.0.1:3972';
  const healed = () => healedOn(host);

  before(async () => {
    host = bootHost('agent-sup', 2232);
    app = makeApp(
      `app: hello\nruntime: supervisor\nrun: node server.js\nport: 3972\n` +
        `health: { path: /health, timeout: 8, interval: 0.2 }\nssh: { config_file: ${host.sshConfig} }\n` +
        `environments:\n  production:\n    hosts: [agent-sup]\n`,
    );
    for (const command of ['setup', 'deploy']) {
      const r = await slipway(app, [command, 'production']);
      assert.equal(r.exitCode, 0, r.all);
    }
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('the app and its supervisor stopped by hand: started again, the heal recorded', async () => {
    const release = JSON.parse(host.exec('cat', '/srv/hello/.slipway/desired.json')).release as string;
    assert.equal((await get(URL)).body, `Hello from slipway (release ${release})\n`);
    host.exec('node', '/srv/hello/.slipway/bin/supervisor.cjs', 'stop', '/srv/hello');
    assert.equal((await get(URL)).status, 0, 'stopped');
    await within(15_000, async () => (await get(URL)).body === `Hello from slipway (release ${release})\n`);
    await within(10_000, () => healed().length > 0);
    assert.equal(healed().length, 1, JSON.stringify(healed()));
    assert.deepEqual(healed()[0]!.found, ['the app is not running']);
  });
});
