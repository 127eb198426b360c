// Pull mode on a real systemd host: CI publishes signed artifacts into a channel served over HTTP (here, by this
// test on the loopback the host shares); the host's agent deploys each new one by itself with the usual health gate,
// remembers a failing one as bad and never tries it again, deploys a newer good one after it, and refuses an
// unsigned or tampered artifact.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway, within } from '../helpers/env.ts';
import { hostDashboard } from '../helpers/dashboard.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const URL = 'http://127.0.0.1:3973';

describe('pull mode: the agent deploys signed artifacts by itself', { skip: testhostUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  let home: string;
  let server: Server;
  let channel: string;
  const run = (...args: string[]) => slipway(app, args, { XDG_CONFIG_HOME: home });
  const pullMemory = () =>
    JSON.parse(host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent.sock', 'http://agent/status')).apps.hello
      ?.pull as { next?: string; bad: { release: string; why: string }[]; offered?: string } | undefined;
  const history = () =>
    host
      .exec('cat', '/srv/hello/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; release: string; user: string; command: string });
  const publish = async (...sign: string[]) => {
    const b = await run('build', '--output', `${channel}/`, ...sign.flatMap((e) => ['--sign', e]), '--json');
    assert.equal(b.exitCode, 0, b.all);
    return JSON.parse(b.stdout).release as string;
  };
  const wake = async () => assert.equal((await run('agent', 'pull', 'production')).exitCode, 0);

  before(async () => {
    host = bootHost('pull1', 2233);
    home = mkdtempSync(path.join(os.tmpdir(), 'slipway-pull-home-'));
    channel = mkdtempSync(path.join(os.tmpdir(), 'slipway-channel-'));
    server = createServer((req, res) => {
      const file = path.join(channel, path.basename(decodeURIComponent(req.url ?? '/')));
      try {
        res.end(readFileSync(file));
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const base =
      `app: hello\nrun: node server.js\nport: 3973\nhealth: { path: /health, timeout: 5, interval: 0.2 }\n` +
      `ssh: { config_file: ${host.sshConfig} }\nenvironments:\n  production:\n    hosts: [pull1]\n`;
    app = makeApp(base);
    // the key first: the public key goes into the config that turns pull mode on
    const k = await run('keys', 'init', 'production', '--json');
    assert.equal(k.exitCode, 0, k.all);
    const publicKey = JSON.parse(k.stdout).public_key as string;
    writeFileSync(
      path.join(app, 'slipway.yml'),
      `${base}    pull:\n      source: { artifacts: "http://127.0.0.1:${port}/" }\n` +
        `      public_key: ${publicKey}\n      interval: 600\n`,
    );
    change(app, 'version one');
    for (const command of ['setup', 'deploy']) {
      const r = await run(command, 'production');
      assert.equal(r.exitCode, 0, r.all);
    }
  });
  after(() => {
    server?.close();
    if (process.env.KEEP) return;
    host?.down();
    for (const d of [app, home, channel]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('a new signed version is deployed by the agent, recorded as its deploy', async () => {
    change(app, 'version two');
    const r2 = await publish('production');
    await wake();
    await within(30_000, async () => (await get(URL)).body === `version two (release ${r2})\n`);
    // the new release serves before the deploy's last step records it
    const succeeded = () => history().filter((h) => h.event === 'succeeded' && h.release === r2);
    await within(10_000, () => succeeded().length > 0);
    const deployed = succeeded();
    assert.equal(deployed.length, 1, JSON.stringify(history()));
    assert.equal(deployed[0]!.user, 'slipway-agent');
    assert.match(deployed[0]!.command, /^slipway agent \(pull: http:\/\/127\.0\.0\.1:\d+\/\)$/);
    await within(10_000, () => pullMemory()?.next === `deployed ${r2}`);
  });

  it('a failing version is rolled back, remembered as bad, not tried again; a newer good one goes live', async () => {
    const good = readFileSync(path.join(app, 'server.js'), 'utf8');
    writeFileSync(path.join(app, 'server.js'), "console.error('broken on purpose'); process.exit(1);\n");
    commit(app, 'broken');
    const r3 = await publish('production');
    await wake();
    await within(60_000, () => /failed and is not deployed again/.test(pullMemory()?.next ?? ''));
    assert.match((await get(URL)).body, /^version two /);
    assert.deepEqual(
      pullMemory()!.bad.map((b) => b.release),
      [r3],
    );
    const tries = () => history().filter((h) => h.release === r3 && h.event !== 'healed').length;
    const before = tries();
    await wake();
    // the failed release stays on the host: only a version newer than it is pulled
    await within(10_000, () => pullMemory()?.next === `nothing newer than ${r3}`);
    assert.equal(tries(), before, 'not deployed again');

    writeFileSync(path.join(app, 'server.js'), good);
    change(app, 'version four');
    const r4 = await publish('production');
    await wake();
    await within(30_000, async () => (await get(URL)).body === `version four (release ${r4})\n`);
  });

  it('an artifact not signed for production, or changed after signing, is not deployed', async () => {
    change(app, 'signed for staging only');
    const r5 = await publish();
    await wake();
    await within(10_000, () => (pullMemory()?.next ?? '').includes(`${r5} is not signed for production`));

    change(app, 'tampered');
    const r6 = await publish('production');
    const file = path.join(channel, `${r6}.tar.gz`);
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('extra')]));
    await wake();
    await within(10_000, () => /checksum mismatch/.test(pullMemory()?.next ?? ''));
    assert.match((await get(URL)).body, /^version four /);
  });

  it('a cooldown holds a new version until it is that old, then it is deployed', async () => {
    const yml = readFileSync(path.join(app, 'slipway.yml'), 'utf8');
    writeFileSync(
      path.join(app, 'slipway.yml'),
      yml.replace('      interval: 600\n', '      interval: 600\n      cooldown: 6\n'),
    );
    change(app, 'version five, with a cooldown');
    const d = await run('deploy', 'production');
    assert.equal(d.exitCode, 0, d.all);
    change(app, 'version six');
    const r6 = await publish('production');
    await wake();
    await within(10_000, () => (pullMemory()?.next ?? '').startsWith(`${r6}: held: cooldown until `));
    assert.match((await get(URL)).body, /^version five/);
    await new Promise((done) => setTimeout(done, 6000));
    await wake();
    await within(30_000, async () => (await get(URL)).body === `version six (release ${r6})\n`);
  });

  it('paused from the dashboard, the agent deploys nothing new until resumed', async () => {
    const board = hostDashboard(host);
    const pause = board.act({ app: 'hello', environment: 'production', action: 'pause' });
    assert.deepEqual(pause, { status: 200, body: { done: 'pull mode paused' } });
    assert.equal(pullMemory()?.next, 'paused from the dashboard');
    change(app, 'version seven');
    const r7 = await publish('production');
    await wake();
    await new Promise((done) => setTimeout(done, 3000));
    assert.match((await get(URL)).body, /^version six /, 'not deployed while paused');
    assert.equal(pullMemory()?.next, 'paused from the dashboard', 'the source was not even looked at');
    const resume = board.act({ app: 'hello', environment: 'production', action: 'resume' });
    assert.deepEqual(resume, { status: 200, body: { done: 'pull mode resumed' } });
    // resuming looks at once: the version is found and held by the cooldown (6 s) set in the test before
    await within(10_000, () => (pullMemory()?.next ?? '').startsWith(`${r7}: held: cooldown until `));
    await new Promise((done) => setTimeout(done, 3500));
    await wake();
    await within(30_000, async () => (await get(URL)).body === `version seven (release ${r7})\n`);
    const apps = board.get('/api/apps') as { pull?: { paused: boolean } }[];
    assert.equal(apps[0]!.pull?.paused, false);
  });
});
