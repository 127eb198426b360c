// The dashboard's grid across hosts, in a real browser against two real hosts: `slipway dashboard` opens the page of
// the first host's agent and relays the second host's board to it over SSH while the tunnel is open; the grid shows
// each host's release, sync and health as its own agent observed them, follows a deploy on both, and says so when
// the second host's agent stops answering.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openDashboard } from '../helpers/browser.ts';
import { change, makeApp, ROOT, slipway } from '../helpers/env.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const config = (sshConfig: string) => `app: hello
run: node server.js
port: 3000
health: { path: /health, timeout: 8, interval: 0.2 }
ssh: { config_file: ${sshConfig} }
environments:
  production:
    hosts: [grid1, grid2]
`;

describe("the dashboard's grid across hosts", { skip: testhostUnavailable() }, () => {
  const hosts: TestHost[] = [];
  let app: string;
  let browser: Browser;
  let page: Page;
  let tunnel: ReturnType<typeof slipway>;
  const run = (...args: string[]) => slipway(app, args);
  const deploy = async (message: string) => {
    change(app, message);
    const r = await run('deploy', 'production', '--json');
    assert.equal(r.exitCode, 0, r.all);
    return JSON.parse(r.stdout).release as string;
  };
  const cell = (host: string) => page.textContent(`#hosts td[data-cell="production/hello@${host}"]`);

  before(async () => {
    for (const [i, name] of ['grid1', 'grid2'].entries())
      hosts.push(bootHost(name, 22, { address: `10.77.${95 + i}.2` }));
    const sshConfig = path.join(hosts[0]!.dir, 'all_ssh_config');
    writeFileSync(sshConfig, hosts.map((h) => readFileSync(h.sshConfig, 'utf8')).join('\n'));
    app = makeApp(config(sshConfig));
    const s = await run('setup', 'production');
    assert.equal(s.exitCode, 0, s.all);
  });
  after(async () => {
    await browser?.close();
    tunnel?.kill();
    if (process.env.KEEP) return;
    for (const h of hosts) h.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it("shows each host's release, sync and health, and follows a deploy on both", async () => {
    const first = await deploy('version one');
    const opened = await openDashboard(app);
    tunnel = opened.tunnel;
    assert.match(opened.printed, /^Dashboard of grid1: /);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(opened.link);
    await page.waitForSelector('#hosts td[data-cell="production/hello@grid2"]', { timeout: 20_000 });
    const heads = await page.$$eval('#hosts tr:first-child th', (ths) => ths.map((t) => t.textContent));
    assert.deepEqual(
      heads.map((t) => t?.replace(/relayed .*/, 'relayed')),
      ['environment / app', 'grid1this host', 'grid2relayed'],
    );
    for (const h of ['grid1', 'grid2']) {
      const text = (await cell(h))!;
      assert.match(text, new RegExp(`${first}.*Synced.*Healthy`), `${h}: ${text}`);
    }

    const second = await deploy('version two');
    await page.waitForFunction(
      (id) => document.querySelector('#hosts td[data-cell="production/hello@grid2"]')?.textContent?.includes(id),
      second,
      { timeout: 20_000 },
    );
    assert.match((await cell('grid1'))!, new RegExp(second));
    // `SLIPWAY_SCREENSHOTS=docs`: the README's picture is taken from this run
    const shots = process.env.SLIPWAY_SCREENSHOTS;
    if (shots) await page.screenshot({ path: path.join(ROOT, shots, 'dashboard-hosts.png'), fullPage: true });
  });

  it("says so when the other host's agent does not answer", async () => {
    hosts[1]!.exec('systemctl', 'stop', 'slipway-agent.service');
    await page.waitForFunction(
      () => /no agent/.test(document.querySelector('#hosts tr:nth-child(2) td:nth-child(3)')?.textContent ?? ''),
      undefined,
      { timeout: 20_000 },
    );
    assert.match((await cell('grid1'))!, /Synced/, 'the host serving the page is unaffected');
    hosts[1]!.exec('systemctl', 'start', 'slipway-agent.service');
    await page.waitForSelector('#hosts td[data-cell="production/hello@grid2"]', { timeout: 20_000 });
  });
});
