// npm run bench:zero-downtime (root, Linux): a real Debian host behind a real
// Caddy, a steady load from autocannon at a fixed rate, and 10 deploys + 10
// rollbacks, first with slipway's blue/green switch, then (the baseline, in the
// same run) with a plain stop-and-restart of the app behind the same Caddy.
// Prints failed and non-2xx requests and p50/p99 latency against steady state;
// writes bench/results/zero-downtime.json.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { change, makeApp, ROOT, slipway } from '../test/helpers/env.ts';
import { bootHost, testhostUnavailable } from '../test/helpers/testhost.ts';

const RATE = 200; // requests per second, whole run
const CONNECTIONS = 10;
const CYCLES = 10;

interface Run {
  requests: number;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
  seconds: number;
}

function load(url: string, seconds?: number): { instance: autocannon.Instance; done: Promise<Run> } {
  const started = Date.now();
  let instance!: autocannon.Instance;
  const done = new Promise<Run>((resolve, reject) => {
    instance = autocannon({ url, connections: CONNECTIONS, overallRate: RATE, duration: seconds ?? 3600 }, (err, r) => {
      if (err) return reject(err);
      resolve({
        requests: r.requests.total,
        errors: r.errors,
        non2xx: r.non2xx,
        p50: r.latency.p50,
        p99: r.latency.p99,
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
  return { instance, done };
}

async function must(dir: string, args: string[]): Promise<void> {
  const r = await slipway(dir, args);
  if (r.exitCode !== 0) throw new Error(`slipway ${args.join(' ')} failed:\n${r.all}`);
}

async function measure(name: string, app: string, env: string, url: string): Promise<{ steady: Run; switching: Run }> {
  process.stderr.write(`${name}: steady state…\n`);
  const steady = await load(url, 5).done;
  process.stderr.write(`${name}: ${CYCLES} deploys and ${CYCLES} rollbacks under load…\n`);
  const during = load(url);
  for (let i = 0; i < CYCLES; i++) {
    change(app, `${name} change ${i}`);
    await must(app, ['deploy', env]);
    await must(app, ['rollback', env]);
  }
  during.instance.stop();
  return { steady, switching: await during.done };
}

const why = testhostUnavailable();
if (why) {
  console.error(`bench: ${why}`);
  process.exit(2);
}
const host = bootHost('bench1', 2231);
const base = (name: string, port: number, extra: string) => `app: ${name}
run: node server.js
port: ${port}
stop_timeout: 5
health:
  path: /health
  interval: 0.1
ssh:
  config_file: ${host.sshConfig}
${extra}environments:
  production:
    hosts: [bench1]
`;
const blue = makeApp(base('bluegreen', 3971, 'proxy:\n  port: 8471\n  drain_timeout: 2\n'));
const plain = makeApp(base('plain', 3981, ''));
try {
  process.stderr.write('setting up the host (packages, Caddy)…\n');
  await must(blue, ['setup', 'production']);
  await must(plain, ['setup', 'production']);
  await must(blue, ['deploy', 'production']);
  await must(plain, ['deploy', 'production']);
  // The baseline sits behind the same Caddy: a second site on :8481 to the single instance's port.
  const site = {
    listen: [':8481'],
    routes: [{ handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '127.0.0.1:3981' }] }] }],
  };
  host.exec(
    'sh',
    '-c',
    `printf '%s' '${JSON.stringify(site)}' | curl -fsS -X PUT -H 'Content-Type: application/json' --data-binary ` +
      `@- http://localhost:2019/config/apps/http/servers/bench_plain`,
  );

  const bg = await measure('blue/green', blue, 'production', 'http://127.0.0.1:8471/');
  const sr = await measure('stop-and-restart', plain, 'production', 'http://127.0.0.1:8481/');

  const row = (name: string, m: { steady: Run; switching: Run }) =>
    `${name.padEnd(18)} ${String(m.switching.requests).padStart(8)} ${String(m.switching.errors).padStart(7)} ` +
    `${String(m.switching.non2xx).padStart(7)}   ${`${m.steady.p50} / ${m.steady.p99}`.padStart(9)} ms   ` +
    `${`${m.switching.p50} / ${m.switching.p99}`.padStart(9)} ms   ` +
    `${(m.switching.p99 / Math.max(1, m.steady.p99)).toFixed(1)}x`;
  console.log(
    `\nsteady load ${RATE} req/s over ${CONNECTIONS} connections through Caddy; ${CYCLES} deploys + ${CYCLES} ` +
      `rollbacks per mode\n`,
  );
  console.log('mode               requests  errors non-2xx   steady p50/p99       switching p50/p99    p99 ratio');
  console.log(row('blue/green', bg));
  console.log(row('stop-and-restart', sr));
  console.log(
    `\nfailed or non-2xx requests: blue/green ${bg.switching.errors + bg.switching.non2xx}, stop-and-restart ` +
      `${sr.switching.errors + sr.switching.non2xx}`,
  );
  if (bg.switching.errors > 0) {
    console.log(
      '(blue/green errors are connections closed before any response: idle keep-alive connections that Caddy ' +
        '2.6 closes on each config reload; autocannon does not retry them as browsers do)',
    );
  }
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    path.join(ROOT, 'bench/results/zero-downtime.json'),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        rate: RATE,
        connections: CONNECTIONS,
        cycles: CYCLES,
        bluegreen: bg,
        stop_and_restart: sr,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  host.down();
  rmSync(blue, { recursive: true, force: true });
  rmSync(plain, { recursive: true, force: true });
}
