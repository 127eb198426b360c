// npm run bench:agent: what the slipway agent costs a host at rest. One testhost, three apps deployed and
// watched by the agent; then, for BENCH_AGENT_SECONDS (600 by default, the ten minutes), the agent's
// service (its cgroup: the agent and the journalctl it follows) and, as the baseline measured in the same run on
// the same host, a bare idle Node process in a unit of its own, sampled every second: memory (the RSS of every
// process in the unit) and CPU (the cgroup's usage). Targets: ≤ 40 MB RSS, ≤ 0.5 % of one core on average, no
// 5-second window above 5 % (the 60-second resync included). Writes bench/results/agent.json.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { change, makeApp, ROOT, slipway } from '../test/helpers/env.ts';
import { bootHost, type TestHost } from '../test/helpers/testhost.ts';
import { median } from './stats.ts';

const SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 600);
const APPS = ['alpha', 'beta', 'gamma'];
const IDLE_UNIT = 'bench-idle-node.service';
const AGENT_UNIT = 'slipway-agent.service';

const config = (app: string, port: number, sshConfig: string) => `app: ${app}
run: node server.js
port: ${port}
health: { path: /health, timeout: 5 }
ssh: { config_file: ${sshConfig} }
environments:
  production:
    hosts: [bench-agent]
`;

/** RSS (kB, summed over the unit's processes) and CPU time used so far (µs), read from the unit's cgroup. */
function sample(h: TestHost, unit: string): { rssKb: number; cpuUs: number } {
  const cg = `/sys/fs/cgroup/system.slice/${unit}`;
  const out = h.exec(
    'sh',
    '-c',
    // a child that ends between the two reads is simply not counted
    'grep usage_usec "$1/cpu.stat"; for p in $(cat "$1/cgroup.procs"); do ' +
      'grep VmRSS /proc/$p/status 2>/dev/null; done; true',
    'sh',
    cg,
  );
  const cpuUs = Number(/usage_usec (\d+)/.exec(out)![1]);
  const rssKb = [...out.matchAll(/VmRSS:\s+(\d+) kB/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { rssKb, cpuUs };
}

/** Each process of the unit: its command, RSS, and how much of that is private (anonymous) and file-backed. */
function processes(h: TestHost, unit: string): string {
  const script =
    // a pid the host's namespace cannot see, or one gone since the list was read, is left out
    'for p in $(cat "$1/cgroup.procs"); do [ -r /proc/$p/status ] || continue; ' +
    'printf "  %s %s: " "$p" "$(tr "\\0" " " < /proc/$p/cmdline)"; ' +
    'grep -E "^(VmRSS|RssAnon|RssFile)" /proc/$p/status | tr -s " \\t\\n" " "; echo; done';
  return h.exec('sh', '-c', script, 'sh', `/sys/fs/cgroup/system.slice/${unit}`).trimEnd();
}

interface Series {
  rssKb: number[];
  /** CPU % of one core, per second */
  cpu: number[];
}

function summary(s: Series) {
  const windows = [];
  for (let i = 0; i + 5 <= s.cpu.length; i++) windows.push(s.cpu.slice(i, i + 5).reduce((a, b) => a + b, 0) / 5);
  return {
    rss_mb_median: median(s.rssKb) / 1024,
    rss_mb_max: Math.max(...s.rssKb) / 1024,
    cpu_percent_mean: s.cpu.reduce((a, b) => a + b, 0) / s.cpu.length,
    cpu_percent_max_5s: Math.max(...windows),
  };
}

async function main(): Promise<void> {
  const host = bootHost('bench-agent', 22, { address: '10.77.81.2' });
  const apps: string[] = [];
  try {
    for (const [i, name] of APPS.entries()) {
      const app = makeApp(config(name, 3101 + i, host.sshConfig));
      apps.push(app);
      for (const args of [
        ['setup', 'production'],
        ['deploy', 'production'],
      ]) {
        if (args[0] === 'deploy') change(app, `Hello from ${name}`);
        const r = await slipway(app, args);
        if (r.exitCode !== 0) throw new Error(`${name}: slipway ${args.join(' ')} failed:\n${r.all}`);
      }
    }
    host.exec('systemd-run', '--unit', IDLE_UNIT, '/usr/bin/node', '-e', 'setInterval(() => {}, 1000)');
    // let the first looks and the first resync settle before measuring rest
    await new Promise((r) => setTimeout(r, 5000));
    const series = { agent: { rssKb: [], cpu: [] } as Series, node: { rssKb: [], cpu: [] } as Series };
    let last = { agent: sample(host, AGENT_UNIT), node: sample(host, IDLE_UNIT), at: Date.now() };
    for (let s = 0; s < SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = { agent: sample(host, AGENT_UNIT), node: sample(host, IDLE_UNIT), at: Date.now() };
      const ms = now.at - last.at;
      for (const k of ['agent', 'node'] as const) {
        series[k].rssKb.push(now[k].rssKb);
        series[k].cpu.push(((now[k].cpuUs - last[k].cpuUs) / 1000 / ms) * 100);
      }
      last = now;
    }
    const agent = summary(series.agent);
    const node = summary(series.node);
    const line = (name: string, r: typeof agent) =>
      `${name.padEnd(16)} RSS median ${r.rss_mb_median.toFixed(1)} MB (max ${r.rss_mb_max.toFixed(1)}), CPU mean ` +
      `${r.cpu_percent_mean.toFixed(3)} %, highest 5 s window ${r.cpu_percent_max_5s.toFixed(2)} %`;
    console.log(`${SECONDS} s at rest, ${APPS.length} apps watched:`);
    console.log(line('slipway agent', agent));
    console.log(line('bare idle node', node));
    console.log(
      `agent / bare node: RSS ${(agent.rss_mb_median / node.rss_mb_median).toFixed(2)}x, ` +
        `CPU ${(agent.cpu_percent_mean - node.cpu_percent_mean).toFixed(3)} points above it`,
    );
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `targets: RSS ≤ 40 MB ${met(agent.rss_mb_max <= 40)}; CPU ≤ 0.5 % ${met(agent.cpu_percent_mean <= 0.5)}; ` +
        `no 5 s window above 5 % ${met(agent.cpu_percent_max_5s <= 5)}`,
    );
    console.log(`the agent's processes (RSS = private + file-backed, shared with every other node process):`);
    console.log(processes(host, AGENT_UNIT));
    writeFileSync(
      path.join(ROOT, 'bench/results/agent.json'),
      `${JSON.stringify({ seconds: SECONDS, apps: APPS.length, agent, bare_node: node }, null, 2)}\n`,
    );
  } finally {
    if (!process.env.KEEP) host.down();
    for (const app of apps) rmSync(app, { recursive: true, force: true });
  }
}

await main();
