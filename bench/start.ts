// npm run bench:start: how long the CLI takes to start, against a bare `node -e 0` measured
// in the same run (alternating, so both see the same machine load). The target is
// `slipway --version` under 150 ms; the ratio to bare Node is what to compare across machines.
// Writes bench/results/start.json.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../test/helpers/env.ts';
import { median } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const bin = path.join(ROOT, 'bin/slipway.js');
const commands: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'slipway --version': [bin, '--version'],
  'slipway --help': [bin, '--help'],
  // what every command does before its first connection: load the engine, read and check slipway.yml
  'slipway config': [bin, 'config', 'demo'],
};
const cwd = path.join(ROOT, 'examples/hello');

const times = new Map<string, number[]>(Object.keys(commands).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(commands)) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    times.get(name)!.push(ms);
  }
}

const base = median(times.get('node -e 0')!);
const results = [...times].map(([name, xs]) => ({
  name,
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
  ratio: median(xs) / base,
}));
for (const r of results) {
  console.log(
    `${r.name.padEnd(18)} median ${r.median.toFixed(0).padStart(4)} ms (min ${r.min.toFixed(0)}, max ` +
      `${r.max.toFixed(0)})  ${r.ratio.toFixed(2)}x bare node`,
  );
}
const version = results.find((r) => r.name === 'slipway --version')!;
console.log(
  `\nslipway --version: ${version.median.toFixed(0)} ms, ${(version.median - base).toFixed(0)} ms over bare ` +
    `Node (target: under 150 ms) ${version.median < 150 ? 'met' : 'NOT met'}`,
);
writeFileSync(
  path.join(ROOT, 'bench/results/start.json'),
  `${JSON.stringify({ runs: RUNS, node: process.version, results }, null, 2)}\n`,
);
