// Zero-downtime deploys behind a real Caddy on a real Debian host, for both
// runtimes: blue/green slots, atomic upstream switch, drain, switch-back
// rollback, a release that never becomes healthy, Caddy's admin API down,
// maintenance mode, and a steady load that must see no failed request.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway } from '../helpers/env.ts';
import { startLoad } from '../helpers/load.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const [runtime, sshPort, appPort, proxyPort] of [
  ['systemd', 2214, 3951, 8451],
  ['supervisor', 2215, 3961, 8461],
] as const) {
  describe(`blue/green behind Caddy (${runtime})`, { skip }, () => {
    let host: TestHost;
    let app: string;
    const URL = `http://127.0.0.1:${proxyPort}/`;
    const run = (...args: string[]) => slipway(app, args);
    const status = async () =>
      JSON.parse((await run('status', 'production', '--json')).stdout) as {
        slot: string;
        live: boolean;
        running: boolean;
        pid?: number;
        release?: string;
      }[];
    const config = `app: hello
agent: false
run: node server.js
runtime: ${runtime}
port: ${appPort}
stop_timeout: 5
proxy:
  port: ${proxyPort}
  # long enough for a status and a rollback to run on a busy machine before the previous slot stops
  drain_timeout: 10
health:
  path: /health
  timeout: 6
  interval: 0.2
ssh:
  config_file: SSH_CONFIG
environments:
  production:
    hosts: [${`web-${runtime}`}]
`;

    before(() => {
      host = bootHost(`web-${runtime}`, sshPort);
      app = makeApp(config.replace('SSH_CONFIG', host.sshConfig));
    });
    after(() => {
      host?.down();
      if (app) rmSync(app, { recursive: true, force: true });
    });

    it('setup installs Caddy in API mode and adds the site; a second setup changes nothing', async () => {
      const s = await run('setup', 'production', '--json');
      assert.equal(s.exitCode, 0, s.all);
      const changes = JSON.parse(s.stdout).hosts[0].changes as string[];
      assert.ok(
        changes.some((c) => /installed .*caddy/.test(c)),
        changes.join('; '),
      );
      assert.ok(changes.includes(`site :${proxyPort} → hello`), changes.join('; '));
      assert.equal(host.exec('systemctl', 'is-active', 'caddy-api').trim(), 'active');
      const again = await run('setup', 'production', '--json');
      assert.deepEqual(JSON.parse(again.stdout).hosts[0].changes, []);
    });

    let first = '';
    it('deploys to the idle slot and switches Caddy to it', async () => {
      const d = await run('deploy', 'production', '--json');
      assert.equal(d.exitCode, 0, d.all);
      first = JSON.parse(d.stdout).release;
      assert.deepEqual(await get(URL), { status: 200, body: `Hello from slipway (release ${first})\n` });
      const st = await status();
      assert.deepEqual(
        st.map((x) => [x.slot, x.live, x.running, x.release]),
        [
          ['a', false, false, undefined],
          ['b', true, true, first],
        ],
      );
    });

    it('deploys and rolls back under load with no failed request; a quick rollback only switches back', async (t) => {
      const load = startLoad(URL);
      t.after(() => load.stop());
      await sleep(500);
      change(app, 'second');
      const d2 = await run('deploy', 'production', '--json');
      assert.equal(d2.exitCode, 0, d2.all);
      const second = JSON.parse(d2.stdout).release;
      await sleep(300);
      const before = await status();
      const old = before.find((x) => x.slot === 'b')!;
      assert.equal(old.running, true, 'the previous slot keeps running while it drains');
      assert.equal(before.find((x) => x.live)!.release, second);

      const rb = await run('rollback', 'production');
      assert.equal(rb.exitCode, 0, rb.all);
      await sleep(300);
      const after = await status();
      const back = after.find((x) => x.live)!;
      assert.equal(back.slot, 'b');
      assert.equal(back.pid, old.pid, 'switching back reused the running instance');
      assert.equal((await get(URL)).body, `Hello from slipway (release ${first})\n`);

      change(app, 'third');
      const d3 = await run('deploy', 'production', '--json');
      assert.equal(d3.exitCode, 0, d3.all);
      await sleep(500);
      const result = await load.stop();
      assert.equal(
        result.failed,
        0,
        `${result.failed} of ${result.requests} requests failed: ${JSON.stringify(result.statuses)} ` +
          `${result.errors.join('; ')}`,
      );
      t.diagnostic(
        `${result.requests} requests, ${result.failed} failed, ${result.retried} retried on a new connection ` +
          `after Caddy closed an idle keep-alive one`,
      );
      // each Caddy config change may reset the few idle keep-alive connections, no more
      assert.ok(result.retried <= 4 * 8, `${result.retried} retried`);
      assert.ok(result.requests > 50, `only ${result.requests} requests`);
      assert.deepEqual([...result.bodies].sort(), ['Hello from slipway', 'second', 'third']);
      assert.equal((await get(URL)).body, `third (release ${JSON.parse(d3.stdout).release})\n`);
    });

    it('the previous slot stops once drain_timeout has passed', async () => {
      await sleep(11_000);
      const st = await status();
      assert.deepEqual(
        st.map((x) => [x.slot, x.live, x.running]),
        [
          ['a', true, true],
          ['b', false, false],
        ],
      );
    });

    it('a release that never becomes healthy is stopped and never receives traffic', async (t) => {
      const served = (await get(URL)).body;
      const load = startLoad(URL, 2);
      t.after(() => load.stop());
      const server = readFileSync(path.join(app, 'server.js'), 'utf8');
      writeFileSync(
        path.join(app, 'server.js'),
        server.replace(
          "if (req.url === '/health') {",
          "if (req.url === '/health') {\n    res.writeHead(503);\n    return res.end('not ready\\n');",
        ),
      );
      commit(app, 'never healthy');
      const bad = await run('deploy', 'production');
      const result = await load.stop();
      assert.equal(bad.exitCode, 4, bad.all);
      assert.match(bad.stderr, /failed its health check; it never received traffic and was stopped/);
      assert.match(bad.stderr, /last answer: 503/);
      assert.equal(result.failed, 0, JSON.stringify(result.statuses));
      assert.deepEqual([...result.bodies], ['third']);
      assert.equal((await get(URL)).body, served);
      const st = await status();
      assert.deepEqual(
        st.map((x) => [x.slot, x.live, x.running]),
        [
          ['a', true, true],
          ['b', false, false],
        ],
      );
      writeFileSync(path.join(app, 'server.js'), server);
      commit(app, 'healthy again');
    });

    it(
      "with Caddy's admin API down, a deploy fails clearly and nothing is " +
        'switched; a Caddy restart restores the site',
      async () => {
        const served = (await get(URL)).body;
        const before = host.exec('readlink', '/srv/hello/current').trim();
        host.exec('systemctl', 'stop', 'caddy-api');
        try {
          change(app, 'while caddy is down');
          const d = await run('deploy', 'production');
          assert.equal(d.exitCode, 1, d.all);
          assert.match(
            d.stderr,
            /Caddy's admin API \(http:\/\/localhost:2019\) is not answering; nothing was switched/,
          );
          assert.match(d.stderr, /systemctl status caddy-api/);
          assert.equal(host.exec('readlink', '/srv/hello/current').trim(), before);
          assert.deepEqual(
            (await status()).map((x) => [x.slot, x.running]),
            [
              ['a', true],
              ['b', false],
            ],
          );
        } finally {
          host.exec('systemctl', 'start', 'caddy-api');
        }
        for (let i = 0; i < 50 && (await get(URL)).status !== 200; i++) await sleep(100);
        assert.equal((await get(URL)).body, served, 'Caddy resumed the site after its restart');
      },
    );

    it('maintenance mode answers 503 with the page, then the app again', async () => {
      const on = await run('maintenance', 'production', 'on', '--message', 'Upgrading the database <until 10:00>');
      assert.equal(on.exitCode, 0, on.all);
      const page = await get(URL);
      assert.equal(page.status, 503);
      assert.match(page.body, /Upgrading the database &#60;until 10:00&#62;/);
      const off = await run('maintenance', 'production', 'off');
      assert.equal(off.exitCode, 0, off.all);
      assert.equal((await get(URL)).status, 200);
    });

    it('restart starts the current release on the idle slot with no failed request', async (t) => {
      const load = startLoad(URL, 2);
      t.after(() => load.stop());
      const before = (await status()).find((x) => x.live)!;
      const r = await run('restart', 'production');
      const result = await load.stop();
      assert.equal(r.exitCode, 0, r.all);
      const live = (await status()).find((x) => x.live)!;
      assert.notEqual(live.slot, before.slot);
      assert.equal(live.release, before.release);
      assert.equal(result.failed, 0, JSON.stringify(result.statuses));
    });

    it('a second app shares the same Caddy without disturbing the first', {
      skip: runtime !== 'systemd' && 'one runtime is enough',
    }, async () => {
      const served = (await get(URL)).body;
      const other = makeApp(
        config
          .replace('SSH_CONFIG', host.sshConfig)
          .replace('app: hello', 'app: shop')
          .replace(`port: ${appPort}`, `port: ${appPort + 5}`)
          .replace(`port: ${proxyPort}`, `port: ${proxyPort + 2}`),
      );
      try {
        const s = await slipway(other, ['setup', 'production']);
        assert.equal(s.exitCode, 0, s.all);
        const d = await slipway(other, ['deploy', 'production', '--json']);
        assert.equal(d.exitCode, 0, d.all);
        assert.equal(
          (await get(`http://127.0.0.1:${proxyPort + 2}/`)).body,
          `Hello from slipway (release ${JSON.parse(d.stdout).release})\n`,
        );
        assert.equal((await get(URL)).body, served);
        const routes = JSON.parse(host.exec('curl', '-s', 'http://localhost:2019/config/apps/http/servers')) as Record<
          string,
          { routes: { '@id': string }[] }
        >;
        assert.deepEqual(
          Object.entries(routes)
            .map(([name, srv]) => [name, srv.routes.map((r) => r['@id'])])
            .sort(),
          [
            [`slipway_${proxyPort}`, ['slipway_hello']],
            [`slipway_${proxyPort + 2}`, ['slipway_shop']],
          ],
        );
      } finally {
        await slipway(other, ['stop', 'production']);
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('logs show both slots; exec runs in the current release', async () => {
      const logs = await run('logs', 'production', '-n', '200');
      assert.match(logs.stdout, new RegExp(`hello listening on 127\\.0\\.0\\.1:${appPort}`));
      assert.match(logs.stdout, new RegExp(`hello listening on 127\\.0\\.0\\.1:${appPort + 1}`));
      if (runtime === 'systemd') {
        const since = await run('logs', 'production', '--since', '1 hour ago', '-n', '5');
        assert.equal(since.exitCode, 0, since.all);
      }
      const ex = await run('exec', 'production', '--', 'basename "$(pwd)"');
      assert.equal(ex.stdout.trim(), host.exec('readlink', '/srv/hello/current').trim().replace('releases/', ''));
    });
  });
}

describe('a static site served by Caddy', { skip }, () => {
  let host: TestHost;
  let app: string;
  const URL = 'http://127.0.0.1:8491/';
  const run = (...args: string[]) => slipway(app, args);
  const page = (text: string) => writeFileSync(path.join(app, 'dist/index.html'), `<h1>${text}</h1>\n`);

  before(() => {
    host = bootHost('web-static', 2216);
    app = makeApp(
      `app: site\nagent: false\nruntime: static\nstatic_dir: dist\ninclude: ["dist/**"]\n` +
        `proxy:\n  port: 8491\nhealth:\n  ` +
        `path: /index.html\n  timeout: 3\n  interval: 0.2\nssh:\n  config_file: ` +
        `${host.sshConfig}\nenvironments:\n  production:\n    hosts: [web-static]\n`,
    );
    mkdirSync(path.join(app, 'dist'));
    page('one');
    commit(app, 'one');
  });
  after(() => {
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('deploys, switches atomically under load, rolls back, and restores a release whose check fails', async (t) => {
    const s = await run('setup', 'production');
    assert.equal(s.exitCode, 0, s.all);
    assert.doesNotMatch(s.stderr, /service user|systemd unit/);
    const d1 = await run('deploy', 'production');
    assert.equal(d1.exitCode, 0, d1.all);
    assert.deepEqual(await get(URL), { status: 200, body: '<h1>one</h1>\n' });

    const load = startLoad(URL, 2);
    t.after(() => load.stop());
    page('two');
    commit(app, 'two');
    assert.equal((await run('deploy', 'production')).exitCode, 0);
    assert.equal((await get(URL)).body, '<h1>two</h1>\n');
    const rb = await run('rollback', 'production');
    assert.equal(rb.exitCode, 0, rb.all);
    const result = await load.stop();
    assert.equal((await get(URL)).body, '<h1>one</h1>\n');
    assert.equal(result.failed, 0, JSON.stringify(result.statuses));
    assert.equal(result.retried, 0, 'a static switch reloads nothing in Caddy');

    rmSync(path.join(app, 'dist/index.html'));
    writeFileSync(path.join(app, 'dist/other.html'), 'x\n');
    commit(app, 'index missing');
    // checked before it goes live: no visitor ever gets the broken site
    const during = startLoad(URL, 2);
    const bad = await run('deploy', 'production');
    const seen = await during.stop();
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(bad.stderr, /\/index\.html is not a file of the release \(no \/index\.html\): it was never served/);
    assert.match(bad.stderr, /it was never made live/);
    assert.equal(seen.failed, 0, JSON.stringify(seen.statuses));
    assert.equal((await get(URL)).body, '<h1>one</h1>\n');
    const st = JSON.parse((await run('status', 'production', '--json')).stdout)[0];
    assert.equal(st.state, 'serving files');
  });
});
