// npm run bench:dashboard: what an open dashboard costs the agent. One testhost, one app deployed and watched; the
// baseline, measured in the same run on the same host, is the agent with no page open while the same three deploys
// run; then two pages are open (the grid, and the app's page with its live log and runs) through `slipway
// dashboard`'s tunnel while three more deploys run. Sampled every second: the agent's memory (the RSS of every
// process in its unit: the agent and the log follower it starts). Target: ≤ 10 MB more with the pages open. Also
// prints the page's size (target: ≤ 150 KB gzipped). Writes bench/results/dashboard.json.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../src/transport/local.ts';
import { ASSETS } from '../src/web/server.ts';
import { launchBrowser } from '../test/helpers/browser.ts';
import { change, makeApp, ROOT, slipway } from '../test/helpers/env.ts';
import { bootHost, type TestHost } from '../test/helpers/testhost.ts';
import { median } from './stats.ts';

const SECONDS = Number(process.env.BENCH_DASHBOARD_SECONDS ?? 30);
const TARGET_MB = 10;

/**
 * The memory of the agent's unit (kB, summed over its processes): RSS, and PSS, which splits each shared page among
 * the processes that map it, so a second journalctl's libraries count once, not twice.
 */
function agentMemoryKb(h: TestHost): { rss: number; pss: number } {
  const out = h.exec(
    'sh',
    '-c',
    'for p in $(cat /sys/fs/cgroup/system.slice/slipway-agent.service/cgroup.procs); do ' +
      'grep -E "^(Rss|Pss):" /proc/$p/smaps_rollup 2>/dev/null; done; true',
  );
  const sum = (k: string) =>
    [...out.matchAll(new RegExp(`^${k}:\\s+(\\d+) kB`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return { rss: sum('Rss'), pss: sum('Pss') };
}

/** Each process of the agent's unit: its command and RSS (private + file-backed). */
function processes(h: TestHost): string {
  const script =
    'for p in $(cat /sys/fs/cgroup/system.slice/slipway-agent.service/cgroup.procs); do ' +
    '[ -r /proc/$p/status ] || continue; printf "  %s: " "$(tr "\\0" " " < /proc/$p/cmdline)"; ' +
    'grep -E "^(VmRSS|RssAnon|RssFile)" /proc/$p/status | tr -s " \\t\\n" " "; echo; done';
  return h.exec('sh', '-c', script).trimEnd();
}

/** The memory every second for SECONDS, while three deploys run one after another. */
async function measure(h: TestHost, app: string, label: string): Promise<{ rss: number; pss: number }[]> {
  const samples: { rss: number; pss: number }[] = [];
  const timer = setInterval(() => samples.push(agentMemoryKb(h)), 1000);
  const until = Date.now() + SECONDS * 1000;
  for (let i = 1; i <= 3; i++) {
    change(app, `${label} ${i}`);
    const d = await slipway(app, ['deploy', 'production']);
    if (d.exitCode !== 0) throw new Error(d.all);
  }
  await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
  clearInterval(timer);
  return samples;
}

const mb = (kb: number) => (kb / 1024).toFixed(1);

async function main(): Promise<void> {
  const host = bootHost('bench-dash', 2237);
  const app = makeApp(`app: hello
run: node server.js
port: 3978
health: { path: /health, timeout: 5, interval: 0.2 }
ssh: { config_file: ${host.sshConfig} }
environments:
  production:
    hosts: [bench-dash]
`);
  const tunnel = { kill: () => {} } as { kill: () => void };
  const browser = await launchBrowser();
  try {
    for (const step of [
      ['setup', 'production'],
      ['deploy', 'production'],
    ]) {
      const r = await slipway(app, step);
      if (r.exitCode !== 0) throw new Error(r.all);
    }
    await new Promise((r) => setTimeout(r, 5000));
    const closed = await measure(host, app, 'no page');
    const closedProcesses = processes(host);
    const port = await freePort();
    const t = slipway(app, ['dashboard', 'production', '--no-open', '--port', String(port)]);
    tunnel.kill = () => t.kill();
    let printed = '';
    t.stdout!.on('data', (c: Buffer) => {
      printed += c.toString();
    });
    while (!/\/login\?token=/.test(printed)) await new Promise((r) => setTimeout(r, 100));
    const context = await browser.newContext();
    const grid = await context.newPage();
    await grid.goto(printed.match(/http:\/\/\S+/)![0]);
    await grid.waitForSelector('.card');
    const appPage = await context.newPage();
    await appPage.goto(`http://127.0.0.1:${port}/#/app/production/hello`);
    await appPage.waitForSelector('#logs');
    const open = await measure(host, app, 'pages open');
    const openProcesses = processes(host);
    const gz = Object.values(ASSETS).reduce((n, a) => n + a.gzip.length, 0);
    const of = (xs: { rss: number; pss: number }[], k: 'rss' | 'pss') => xs.map((x) => x[k]);
    const extra = { pss: 0, rss: 0 };
    console.log(`the agent's memory, ${SECONDS} s each, three deploys in each:`);
    for (const k of ['pss', 'rss'] as const) {
      extra[k] = median(of(open, k)) - median(of(closed, k));
      console.log(
        `  ${k.toUpperCase()}: no page open (baseline) median ${mb(median(of(closed, k)))} MB; two pages open ` +
          `median ${mb(median(of(open, k)))} MB (max ${mb(Math.max(...of(open, k)))}); more: ${mb(extra[k])} MB ` +
          `(target ≤ ${TARGET_MB} MB: ${(extra[k] / 1024 / TARGET_MB).toFixed(2)}×)`,
      );
    }
    console.log(`the agent's processes, no page open:\n${closedProcesses}\nwith the pages open:\n${openProcesses}`);
    console.log(`page: ${(gz / 1024).toFixed(1)} KB gzipped (target ≤ 150 KB: ${(gz / 1024 / 150).toFixed(2)}×)`);
    const result = { seconds: SECONDS, closedKb: closed, openKb: open, extraKb: extra, pageGzipBytes: gz };
    writeFileSync(path.join(ROOT, 'bench/results/dashboard.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await browser.close();
    tunnel.kill();
    host.down();
    rmSync(app, { recursive: true, force: true });
  }
}

await main();
