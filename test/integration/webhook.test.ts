// Webhooks to the agent on a real host behind real Caddy: CI publishes a signed artifact into the host's channel
// folder and calls the app's webhook path; Caddy passes it to the agent's socket, which answers 202 at once and
// deploys the new version (the pull interval is an hour: only the webhook explains it). Bad signatures, replays,
// oversized bodies and wrong content types are refused and change nothing.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, makeApp, slipway, within } from '../helpers/env.ts';
import { browserGet, startLoad } from '../helpers/load.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const SITE = 'http://10.77.92.2:8080';

describe('webhooks wake the agent through Caddy', { skip: testhostUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  let home: string;
  let channel: string;
  let hook: { url: string; secret: string; standard_webhooks_secret: string };
  const run = (...args: string[]) => slipway(app, args, { XDG_CONFIG_HOME: home });
  const served = async () => (await browserGet(SITE)).text();
  /** CI's part: publish a signed version and put the channel where the host's agent reads it */
  const publish = async () => {
    const b = await run('build', '--output', `${channel}/`, '--sign', 'production', '--json');
    assert.equal(b.exitCode, 0, b.all);
    execFileSync('scp', ['-q', '-F', host.sshConfig, '-r', `${channel}/.`, 'hook1:/srv/channel/']);
    return JSON.parse(b.stdout).release as string;
  };
  const send = async (headers: Record<string, string>, body: string | Uint8Array) => {
    const began = Date.now();
    const r = await fetch(hook.url, { method: 'POST', headers, body: body as BodyInit });
    return { status: r.status, ms: Date.now() - began, body: await r.text() };
  };
  const github = (body: string, delivery: string, secret = hook.secret) => ({
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': delivery,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  });
  const agentLog = () => host.exec('journalctl', '--no-pager', '-u', 'slipway-agent.service');

  before(async () => {
    host = bootHost('hook1', 22, { address: '10.77.92.2', layer: SERVER_LAYER });
    home = mkdtempSync(path.join(os.tmpdir(), 'slipway-hook-home-'));
    channel = mkdtempSync(path.join(os.tmpdir(), 'slipway-hook-channel-'));
    host.exec('mkdir', '-p', '/srv/channel');
    const base =
      `app: hello\nrun: node server.js\nport: 3000\nproxy: { port: 8080, drain_timeout: 1 }\n` +
      `health: { path: /health, timeout: 5, interval: 0.2 }\nssh: { config_file: ${host.sshConfig} }\n` +
      `environments:\n  production:\n    hosts: [hook1]\n`;
    app = makeApp(base);
    const k = await run('keys', 'init', 'production', '--json');
    assert.equal(k.exitCode, 0, k.all);
    writeFileSync(
      path.join(app, 'slipway.yml'),
      `${base}    pull:\n      source: { artifacts: /srv/channel }\n` +
        `      public_key: ${JSON.parse(k.stdout).public_key}\n      interval: 3600\n      webhook: true\n`,
    );
    change(app, 'version one');
    for (const command of ['setup', 'deploy']) {
      const r = await run(command, 'production');
      assert.equal(r.exitCode, 0, r.all);
    }
    const w = await run('agent', 'webhook', 'production', '--json');
    assert.equal(w.exitCode, 0, w.all);
    hook = { ...JSON.parse(w.stdout), url: `${SITE}/_slipway/webhook` };
    assert.equal(JSON.parse(w.stdout).url, 'http://hook1:8080/_slipway/webhook');
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    for (const d of [app, home, channel]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('the secret is kept on the host (0600, root) and the same one is printed again', async () => {
    assert.match(hook.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(host.exec('stat', '-c', '%a %U', '/var/lib/slipway-agent/hooks/hello.secret').trim(), '600 root');
    const again = await run('agent', 'webhook', 'production');
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout, new RegExp(`GitHub secret: +${hook.secret} `));
    assert.match(again.stdout, new RegExp(`Standard Webhooks secret: ${hook.standard_webhooks_secret}\\n`));
  });

  it('a signed GitHub push: 202 within a second, and the new version goes live with no failed request', async (t) => {
    const ping = JSON.stringify({ zen: 'hi' });
    const p = await send({ ...github(ping, 'ping-1'), 'x-github-event': 'ping' }, ping);
    assert.equal(p.status, 200, p.body);
    change(app, 'version two');
    const r2 = await publish();
    assert.match(await served(), /^version one /);
    const load = startLoad(SITE);
    t.after(() => load.stop());
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'x' });
    const r = await send(github(body, 'delivery-1'), body);
    assert.equal(r.status, 202, r.body);
    assert.ok(r.ms < 1000, `answered in ${r.ms} ms`);
    await within(30_000, async () => (await served()) === `version two (release ${r2})\n`);
    await new Promise((done) => setTimeout(done, 500));
    const result = await load.stop();
    assert.equal(result.failed, 0, JSON.stringify({ ...result, bodies: [...result.bodies] }));
    assert.ok(result.requests > 50, `${result.requests} requests`);
    assert.deepEqual([...result.bodies].sort(), ['version one', 'version two'], 'both versions, nothing else');
    assert.match(agentLog(), /hello: webhook \(github delivery-1\): looking at the source now/);
  });

  it('bad signature, replay, oversized body, wrong type, stale timestamp: refused, nothing deployed', async () => {
    change(app, 'version three');
    const r3 = await publish();
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const refusals = [
      [await send(github(body, 'delivery-1'), body), 409], // the delivery the test above sent
      [await send(github(body, 'delivery-2', 'not-the-secret'), body), 401],
      [await send({ ...github(body, 'delivery-3'), 'x-hub-signature-256': 'sha256=00' }, body), 401],
      [await send({ ...github(body, 'delivery-4'), 'content-type': 'application/x-www-form-urlencoded' }, body), 415],
      [await send({ authorization: 'Bearer wrong' }, ''), 401],
      [await send({ 'content-type': 'application/json' }, body), 401],
    ] as const;
    for (const [r, status] of refusals) assert.equal(r.status, status, r.body);
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const oversized = await send(github(big.toString(), 'delivery-5'), big);
    assert.equal(oversized.status, 413, oversized.body);
    const stale = standard(body, 'msg-1', Math.floor(Date.now() / 1000) - 600);
    assert.equal((await send(stale, body)).status, 401);
    await new Promise((r) => setTimeout(r, 3000));
    assert.match(await served(), /^version two /);
    const log = agentLog();
    for (const why of ['was seen before (a replay)', 'bad signature', 'only application/json', 'more than 5 minutes'])
      assert.ok(log.includes(why), `${why} in the agent's log:\n${log}`);

    // a good Standard Webhooks call then deploys what the refused ones did not
    const ok = await send(standard(body, 'msg-2', Math.floor(Date.now() / 1000)), body);
    assert.equal(ok.status, 202, ok.body);
    await within(30_000, async () => (await served()) === `version three (release ${r3})\n`);
  });

  it('a bearer call from any CI; a rotated secret makes the old one useless', async () => {
    change(app, 'version four');
    const r4 = await publish();
    const bearer = await send({ authorization: `Bearer ${hook.secret}` }, '');
    assert.equal(bearer.status, 202, bearer.body);
    await within(30_000, async () => (await served()) === `version four (release ${r4})\n`);
    const rotated = await run('agent', 'webhook', 'production', '--rotate', '--json');
    assert.equal(rotated.exitCode, 0, rotated.all);
    const secret = JSON.parse(rotated.stdout).secret as string;
    assert.notEqual(secret, hook.secret);
    assert.equal((await send({ authorization: `Bearer ${hook.secret}` }, '')).status, 401);
    assert.equal((await send({ authorization: `Bearer ${secret}` }, '')).status, 202);
  });

  /** a Standard Webhooks request, signed with the whsec_ secret as a sender's library would */
  function standard(body: string, id: string, ts: number): Record<string, string> {
    const key = Buffer.from(hook.standard_webhooks_secret.slice('whsec_'.length), 'base64');
    const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    return {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': `v1,${sig}`,
    };
  }
});
