// The dashboard in a real browser (Debian's Chromium, playwright-core) against a real host behind real Caddy: opened
// through `slipway dashboard`'s SSH tunnel, it shows the state the agent observed, a deploy started from the CLI live
// with its phases, and the app's log as it streams; its buttons do on the host what the CLI's commands do (rollback,
// mark bad, approve, restart, maintenance), recorded with who did it. Requests without a session, without the CSRF
// token, from a read-only login or for another host name are refused. An invite reaches it through Caddy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openDashboard } from '../helpers/browser.ts';
import { change, makeApp, ROOT, slipway, within } from '../helpers/env.ts';
import { browserGet } from '../helpers/load.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const ADDRESS = '10.77.94.2';
const SITE = `http://${ADDRESS}:8080`;
/** `SLIPWAY_SCREENSHOTS=docs`: the README's pictures are taken from this run */
const SHOTS = process.env.SLIPWAY_SCREENSHOTS;

const config = (extra = '') => `app: hello
run: node server.js
port: 3000
proxy: { port: 8080, drain_timeout: 1 }
health: { path: /health, timeout: 8, interval: 0.2 }
dashboard: { domain: deploy.test, plain_http: true }
ssh: { config_file: SSH_CONFIG }
environments:
  production:
    hosts: [dash1]
${extra}`;

describe('the dashboard, in a browser', { skip: testhostUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  let browser: Browser;
  let page: Page;
  let base: string;
  let tunnel: ReturnType<typeof slipway>;
  const releases: Record<string, string> = {};
  const run = (...args: string[]) => slipway(app, args);
  const served = async () => (await browserGet(SITE)).text();
  const writeConfig = (extra = '') =>
    writeFileSync(path.join(app, 'slipway.yml'), config(extra).replace('SSH_CONFIG', host.sshConfig));
  const deploy = async (message: string) => {
    change(app, message);
    const r = await run('deploy', 'production', '--json');
    assert.equal(r.exitCode, 0, r.all);
    releases[message] = JSON.parse(r.stdout).release;
  };
  const history = () =>
    host
      .exec('cat', '/srv/hello/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; release: string; user: string; by?: string; command?: string });
  /** confirm the dialog an action opens, optionally with a reason */
  const confirm = async (reason?: string) => {
    await page.waitForSelector('dialog[open]');
    if (reason !== undefined) await page.fill('#confirm-reason', reason);
    // the notice of the action before is cleared: what is waited for next is this action's
    await page.evaluate(() => document.getElementById('notice')!.removeAttribute('class'));
    await page.click('#confirm-ok');
  };
  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(path.join(ROOT, SHOTS), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, SHOTS, `dashboard-${name}.png`), fullPage: true });
  };

  before(async () => {
    host = bootHost('dash1', 22, { address: ADDRESS, layer: SERVER_LAYER });
    app = makeApp('');
    writeConfig();
    const s = await run('setup', 'production');
    assert.equal(s.exitCode, 0, s.all);
    await deploy('version one');
    await deploy('version two');
    const opened = await openDashboard(app);
    tunnel = opened.tunnel;
    base = opened.base;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(opened.link);
  });
  after(async () => {
    await browser?.close();
    tunnel?.kill();
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('the grid shows what the host serves, synced and healthy, as the agent observed it', async () => {
    await page.waitForSelector('.card[data-app="production/hello"]');
    const card = (await page.textContent('.card[data-app="production/hello"]'))!;
    assert.match(card, new RegExp(releases['version two']!));
    assert.match(card, /Synced/);
    assert.match(card, /Healthy/);
    assert.match(card, /version two/, 'the commit subject');
    assert.match((await page.textContent('#who'))!, /\(admin\) · dash1/);
    await shot('grid');
  });

  it('a deploy started from the CLI shows up live, with its phases as they run', async () => {
    await page.click('.card h3 a');
    await page.waitForSelector('#runs');
    writeConfig('    hooks: { before_activate: ["sleep 3"] }\n');
    change(app, 'version three');
    const d = run('deploy', 'production', '--json');
    // the page is told while the hook still sleeps: the switch has not run yet
    await page.waitForFunction(
      () => /running[\s\S]*✓ Transfer/.test(document.querySelector('#runs .run')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    assert.doesNotMatch((await page.textContent('#runs .run'))!, /✓ Start, health check, switch/);
    await shot('live');
    const r = await d;
    assert.equal(r.exitCode, 0, r.all);
    releases['version three'] = JSON.parse(r.stdout).release;
    writeConfig();
    await page.waitForFunction(() =>
      /succeeded[\s\S]*✓ Record, prune, unlock/.test(document.querySelector('#runs .run')?.textContent ?? ''),
    );
    await page.waitForFunction(
      (id) => document.querySelector('#main > .card')?.textContent?.includes(id),
      releases['version three']!,
    );
  });

  it("the app's log streams; Restart restarts it behind Caddy and the new start is in the log", async () => {
    await page.waitForFunction(() => /listening on/.test(document.getElementById('logs')?.textContent ?? ''));
    const starts = async () => ((await page.textContent('#logs'))!.match(/listening on/g) ?? []).length;
    const before = await starts();
    await page.click('button.restart');
    await confirm();
    await page.waitForSelector('#notice.ok');
    assert.equal(await page.textContent('#notice'), 'restarted');
    await page.waitForFunction(
      (n) => (document.getElementById('logs')?.textContent?.match(/listening on/g) ?? []).length > n,
      before,
    );
    assert.match(await served(), /^version three /);
  });

  it('a log reconnect with Last-Event-ID gets only the lines after it', async () => {
    const cookie = (await page.context().cookies()).find((c) => c.name.startsWith('slipway_session'))!;
    const read = async (last?: number) => {
      const r = await fetch(`${base}/api/logs?app=hello&environment=production`, {
        headers: { cookie: `${cookie.name}=${cookie.value}`, ...(last ? { 'last-event-id': String(last) } : {}) },
        signal: AbortSignal.timeout(1500),
      });
      let text = '';
      try {
        for await (const c of r.body!) text += Buffer.from(c).toString();
      } catch {
        /* the stream stays open: cut after a while */
      }
      return [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    };
    const all = await read();
    assert.ok(all.length > 3, `${all.length} lines`);
    const from = all[all.length - 3]!;
    assert.deepEqual(
      await read(from),
      all.filter((id) => id > from),
    );
  });

  it('Mark bad: a plain rollback from the CLI skips the release', async () => {
    await page.click(`tr[data-release="${releases['version two']}"] button.mark-bad`);
    await confirm('broke checkout');
    await page.waitForSelector('#notice.ok');
    const marked = history().at(-1)!;
    assert.equal(marked.event, 'marked_bad');
    assert.equal(marked.release, releases['version two']);
    assert.equal(marked.by, 'root@vm (dashboard)'.replace('vm', execFileSync('hostname').toString().trim()));
    const r = await run('rollback', 'production');
    assert.equal(r.exitCode, 0, r.all);
    assert.match(await served(), /^version one /);
  });

  it('Roll back to any kept release: the host answers it, and the record says who', async () => {
    await page.waitForSelector(`tr[data-release="${releases['version three']}"] button.rollback`);
    await page.click(`tr[data-release="${releases['version three']}"] button.rollback`);
    await confirm();
    await page.waitForSelector('#notice.ok');
    assert.match(await served(), /^version three /);
    const last = history()
      .filter((h) => h.event === 'rolled_back')
      .at(-1)!;
    assert.equal(last.release, releases['version three']);
    assert.match(last.user, /^root@\S+ \(dashboard\)$/);
  });

  it('Approve: a deploy waiting for approval goes on', async () => {
    writeConfig('    approval: { required: true, timeout: 60 }\n');
    change(app, 'version four');
    const d = run('deploy', 'production', '--json');
    await page.goto(`${base}/#/app/production/hello`);
    await page.waitForSelector('.approval button.approve', { timeout: 20_000 });
    await page.click('.approval button.approve');
    await confirm();
    const r = await d;
    assert.equal(r.exitCode, 0, r.all);
    releases['version four'] = JSON.parse(r.stdout).release;
    writeConfig();
    assert.match(await served(), /^version four /);
    const approved = history().find((h) => h.event === 'approved');
    assert.ok(approved, 'approval recorded');
    assert.match(approved.by ?? '', /\(dashboard\)$/);
  });

  it("a release's page: its manifest and its config against the release before", async () => {
    // the agent keeps a release's config once it has seen it desired, a moment after the deploy
    await page.goto(`${base}/#/release/production/hello/${releases['version four']}`);
    await within(15_000, async () => {
      await page.reload();
      await page.waitForSelector('h2:has-text("Config")');
      return (await page.$('pre.config-diff')) !== null;
    });
    const diff = (await page.textContent('pre.config-diff'))!;
    assert.match(diff, /^- +"sleep 3"$/m, 'the hook only version three had');
    assert.match(diff, /^\+ +"required": true,?$/m, 'the approval version four was deployed with');
    assert.match(
      (await page.textContent('code.manifest'))!,
      new RegExp(`^${releases['version four']}\\.[0-9a-f]{32}$`),
    );
    await shot('release');
  });

  it('Maintenance on answers 503 through Caddy, off serves the app again', async () => {
    await page.goto(`${base}/#/app/production/hello`);
    await page.click('button.maintenance-on');
    await confirm();
    await page.waitForSelector('#notice.ok');
    assert.equal((await browserGet(SITE)).status, 503);
    await page.waitForSelector('button.maintenance-off');
    await page.click('button.maintenance-off');
    await confirm();
    await within(10_000, async () => (await browserGet(SITE)).status === 200);
  });

  it('history lists every deploy, rollback and approval, filtered by event', async () => {
    await page.goto(`${base}/#/history`);
    await page.waitForSelector('table.history');
    const events = await page.$$eval('table.history tr[data-event]', (rows) =>
      rows.map((r) => r.getAttribute('data-event')),
    );
    for (const e of ['succeeded', 'rolled_back', 'marked_bad', 'approved']) assert.ok(events.includes(e), e);
    await page.selectOption('select[name=event]', 'rolled_back');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('table.history tr[data-event]')].every(
        (r) => r.getAttribute('data-event') === 'rolled_back',
      ),
    );
    await shot('history');
  });

  it('fits a phone: nothing is wider than the window', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(`${base}/#/app/production/hello`);
    await phone.waitForSelector('table.releases');
    const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `${wide} px wide`);
    await phone.close();
  });

  it('refused: no session, a used link, no CSRF token, another site or host name, a read-only login', async () => {
    assert.equal((await fetch(`${base}/api/apps`)).status, 401);
    assert.equal((await fetch(`${base}/`)).status, 401);
    const cookie = (await page.context().cookies()).find((c) => c.name.startsWith('slipway_session'))!;
    const session = { cookie: `${cookie.name}=${cookie.value}` };
    const body = JSON.stringify({ app: 'hello', environment: 'production', action: 'restart' });
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/action`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    assert.equal((await post(session)).status, 403);
    const { csrf } = (await (await fetch(`${base}/api/session`, { headers: session })).json()) as { csrf: string };
    assert.equal((await post({ ...session, 'x-csrf-token': 'wrong' })).status, 403);
    assert.equal((await post({ ...session, 'x-csrf-token': csrf, origin: 'http://evil.example' })).status, 403);
    const rebound = execFileSync('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Host: evil.example',
      `${base}/api/apps`,
    ]);
    assert.equal(rebound.toString(), '421');
    const ro = await run('dashboard', 'production', '--invite', '--read-only', '--as', 'Zoë (viewer)', '--json');
    assert.equal(ro.exitCode, 0, ro.all);
    const invite = new URL(JSON.parse(ro.stdout).url as string);
    assert.equal(invite.origin, 'http://deploy.test:8080', 'plain HTTP on the proxy port (plain_http)');
    const login = await fetch(`${base}/login${invite.search}`, { redirect: 'manual' });
    assert.equal(login.status, 303);
    const roCookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await fetch(`${base}/login${invite.search}`, { redirect: 'manual' })).status, 401, 'used once');
    const roSession = (await (await fetch(`${base}/api/session`, { headers: { cookie: roCookie } })).json()) as {
      role: string;
      who: string;
      csrf: string;
    };
    assert.deepEqual([roSession.role, roSession.who], ['read-only', 'Zoë (viewer)']);
    assert.equal((await fetch(`${base}/api/apps`, { headers: { cookie: roCookie } })).status, 200);
    assert.equal((await post({ cookie: roCookie, 'x-csrf-token': roSession.csrf })).status, 403);
    const log = host.exec('journalctl', '--no-pager', '-u', 'slipway-agent.service');
    assert.match(log, /dashboard: Zoë \(viewer\): refused an action \(read-only\)/);
    assert.match(log, /dashboard: root@\S+: refused \/api\/action: missing or wrong CSRF token/);
  });

  it('an invite opens the dashboard through Caddy on dashboard.domain', async () => {
    const inv = await run('dashboard', 'production', '--invite', '--as', 'ann', '--json');
    assert.equal(inv.exitCode, 0, inv.all);
    const url = new URL(JSON.parse(inv.stdout).url as string);
    const b = await launchBrowser([`--host-resolver-rules=MAP deploy.test ${ADDRESS}`]);
    try {
      const p = await b.newPage();
      await p.goto(url.href);
      await p.waitForSelector('.card[data-app="production/hello"]');
      assert.match((await p.textContent('#who'))!, /^ann \(admin\)/);
      assert.match((await p.textContent('.card'))!, new RegExp(releases['version four']!));
    } finally {
      await b.close();
    }
    // the app's own site is not the dashboard
    assert.match(await served(), /^version four /);
  });

  it('a passkey added after an invite signs in again through Caddy; removed, it no longer does', async () => {
    const inv = await run('dashboard', 'production', '--invite', '--read-only', '--as', 'Pat (on call)', '--json');
    assert.equal(inv.exitCode, 0, inv.all);
    const site = 'http://deploy.test:8080';
    // a real TLS name would make it a secure context; the test's plain-HTTP name is declared one
    const b = await launchBrowser([
      `--host-resolver-rules=MAP deploy.test ${ADDRESS}`,
      `--unsafely-treat-insecure-origin-as-secure=${site}`,
    ]);
    try {
      const p = await b.newPage();
      const cdp = await p.context().newCDPSession(p);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      await p.goto(JSON.parse(inv.stdout).url as string);
      await p.waitForSelector('.card[data-app="production/hello"]');
      await p.goto(`${site}/#/passkeys`);
      await p.click('#add-passkey');
      await p.waitForSelector('#notice.ok');
      assert.match((await p.textContent('#notice'))!, /^Passkey added for Pat \(on call\)/);
      const kept = JSON.parse(host.exec('cat', '/var/lib/slipway-agent/web/tokens.json')).passkeys;
      assert.deepEqual(
        Object.values(kept).map((k) => [(k as { who: string }).who, (k as { role: string }).role]),
        [['Pat (on call)', 'read-only']],
      );
      assert.equal(host.exec('stat', '-c', '%a %U', '/var/lib/slipway-agent/web/tokens.json').trim(), '600 root');

      await p.context().clearCookies();
      await p.goto(`${site}/`);
      await p.click('#signin');
      await p.waitForSelector('.card[data-app="production/hello"]');
      assert.match((await p.textContent('#who'))!, /^Pat \(on call\) \(read-only\) · dash1/);

      await p.goto(`${site}/#/passkeys`);
      await p.waitForSelector('#passkeys tr[data-passkey]');
      await p.click('#passkeys tr[data-passkey] button');
      await p.waitForSelector('dialog[open]');
      await p.click('#confirm-ok');
      await p.waitForSelector('#notice.ok');
      assert.equal(await p.$('#passkeys tr[data-passkey]'), null);
      await p.context().clearCookies();
      await p.goto(`${site}/`);
      await p.click('#signin');
      await p.waitForFunction(() => /^Not signed in/.test(document.getElementById('said')!.textContent!));
      assert.match((await p.textContent('#said'))!, /this passkey is not known here/);
    } finally {
      await b.close();
    }
    const log = host.exec('journalctl', '--no-pager', '-u', 'slipway-agent.service');
    assert.match(log, /dashboard: Pat \(on call\) added a passkey \(read-only\)/);
    assert.match(log, /dashboard: Pat \(on call\) logged in with a passkey \(read-only\)/);
    assert.match(log, /dashboard: a passkey sign-in was refused: this passkey is not known here/);
    // a sign-in must come from the page (its Origin), and a passkey needs a name, not an address
    const options = (headers: Record<string, string>) =>
      fetch(`${base}/passkey/options`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    assert.equal((await options({})).status, 403);
    const address = await options({ origin: base });
    assert.equal(address.status, 400);
    assert.match(((await address.json()) as { error: string }).error, /need the page opened under a name/);
  });

  it('a deploy waiting for the lock shows as queued, then runs', async () => {
    await page.goto(`${base}/#/app/production/hello`);
    writeConfig('    hooks: { before_activate: ["sleep 3"] }\n');
    change(app, 'version five');
    const first = run('deploy', 'production');
    await page.waitForFunction(() => /running/.test(document.querySelector('#runs .run')?.textContent ?? ''));
    const second = run('deploy', 'production', '--lock-wait', '60');
    await page.waitForFunction(
      () =>
        /queued#1 in the queue: slipway deploy production --lock-wait 60/.test(
          document.getElementById('runs')!.textContent!,
        ),
      undefined,
      { timeout: 10_000 },
    );
    const [a, b] = await Promise.all([first, second]);
    writeConfig();
    assert.equal(a.exitCode, 0, a.all);
    assert.equal(b.exitCode, 0, b.all);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#runs .run')].slice(0, 2).every((r) => /succeeded/.test(r.textContent ?? '')),
    );
  });
});
