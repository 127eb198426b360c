// Speed benchmark: slipway against the tools people use today, in the same
// run, on the same real hosts (testhosts in their own network namespaces,
// reached over SSH on a veth pair whose byte counters give the bytes on the wire).
//
//   npm run bench:speed                 small, medium and large apps, 5 runs each
//   BENCH_RUNS=3 BENCH_SIZES=small,medium npm run bench:speed
//   BENCH_SCENARIOS=rollback,hosts …    only these (of first,one-file,lockfile,rollback,hosts); the
//                                       results of other scenarios already in speed.json are kept
//
// Every timing is a whole command, from start to the app answering its health
// check with the new code (checked after each run). Results: bench/results/speed.json
// and bench/results/speed.svg.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../test/helpers/testhost.ts';
import { socketDir } from '../src/transport/ssh.ts';
import { gitScript, installUnits, PORTS, rsyncScript, shipitfile, type Tool } from './baselines.ts';
import { median } from './stats.ts';
import { git, makeFixture, SIZES, type Size } from './fixtures.ts';
import { renderChart } from './chart.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZE_LIST = (process.env.BENCH_SIZES ?? 'small,medium,large').split(',') as Size[];
const HOST_COUNTS = [1, 3, 10];
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'first,one-file,lockfile,rollback,hosts').split(','));
const TOOLS: Tool[] = ['slipway', 'slipway-cold', 'rsync', 'git', 'shipit'];

const why = testhostUnavailable();
if (why) {
  console.error(`bench: ${why}`);
  process.exit(1);
}

interface Sample {
  seconds: number;
  bytes: number;
  peakKiB: number;
}
interface Result {
  scenario: string;
  tool: Tool;
  runs: number;
  median: number;
  min: number;
  max: number;
  bytes: number;
  peak_kib: number;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-'));
const hosts: TestHost[] = [];
const results: Result[] = [];

/** Bytes both ways on the hosts' veth links. */
function wireBytes(hs: TestHost[]): number {
  return hs.reduce((n, h) => {
    const veth = `th-${h.name}`.slice(0, 15);
    const read = (f: string) => Number(readFileSync(`/sys/class/net/${veth}/statistics/${f}`, 'utf8'));
    return n + read('rx_bytes') + read('tx_bytes');
  }, 0);
}

/** Run a command, timing it and taking its peak memory (GNU time). */
function timed(argv: string[], opts: { cwd: string; env?: Record<string, string> }, hs: TestHost[]): Sample {
  const memFile = path.join(work, 'mem');
  const before = wireBytes(hs);
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', memFile, ...argv], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return {
    seconds,
    bytes: wireBytes(hs) - before,
    peakKiB: Number(readFileSync(memFile, 'utf8').trim().split('\n').pop()),
  };
}

function record(scenario: string, tool: Tool, samples: Sample[]): void {
  const s = samples.map((x) => x.seconds);
  const r = {
    scenario,
    tool,
    runs: samples.length,
    median: median(s),
    min: Math.min(...s),
    max: Math.max(...s),
    bytes: median(samples.map((x) => x.bytes)),
    peak_kib: Math.max(...samples.map((x) => x.peakKiB)),
  };
  results.push(r);
  console.log(
    `${scenario.padEnd(28)} ${tool.padEnd(8)} median ${r.median.toFixed(3)}s (min ${r.min.toFixed(3)}, max ` +
      `${r.max.toFixed(3)})  ${(r.bytes / 1024).toFixed(1)} KiB on the wire  peak ` +
      `${(r.peak_kib / 1024).toFixed(0)} MiB`,
  );
}

function serves(hs: TestHost[], tool: Tool, expect: string): void {
  const port = tool === 'slipway' || tool === 'slipway-cold' ? 3000 : PORTS[tool];
  for (const h of hs) {
    const body = h.exec('curl', '-s', `http://127.0.0.1:${port}/`).trim();
    if (body !== expect) throw new Error(`${tool} on ${h.name}: serves "${body}", expected "${expect}"`);
  }
}

/** Close slipway's persistent SSH masters to these hosts (untimed): the next run pays the handshake. */
function closeMasters(hs: TestHost[]): void {
  for (const h of hs)
    spawnSync(
      'ssh',
      ['-F', path.join(work, 'ssh_config'), '-o', `ControlPath=${socketDir()}/%C`, '-O', 'exit', h.name],
      { stdio: 'ignore' },
    );
}

let version = 0;
/** A one-file change: the message, committed. */
function changeOne(dir: string): string {
  version++;
  writeFileSync(path.join(dir, 'src/message.js'), `exports.message = "version ${version}";\n`);
  git(dir, 'commit', '-q', '-am', `version ${version}`);
  return `version ${version}`;
}

function main(): void {
  console.log(`booting ${Math.max(...HOST_COUNTS)} hosts…`);
  for (let i = 1; i <= Math.max(...HOST_COUNTS); i++)
    hosts.push(bootHost(`bench${i}`, 22, { address: `10.77.${40 + i}.2`, layer: SERVER_LAYER }));
  const sshConfig = path.join(work, 'ssh_config');
  writeFileSync(sshConfig, hosts.map((h) => readFileSync(h.sshConfig, 'utf8')).join('\n'));
  for (const h of hosts) installUnits(h);
  const rsync = rsyncScript(work);
  const gitPull = gitScript(work);
  const shipitBin = path.join(ROOT, 'node_modules/shipit-cli/bin/shipit');
  const slipwayBin = path.join(ROOT, 'bin/slipway.js');

  for (const size of SIZE_LIST) {
    const dir = path.join(work, size);
    console.log(`\n== ${size} app: generating ${SIZES[size].files} files…`);
    const made = makeFixture(dir, size);
    const cache = path.join(work, `cache-${size}`);
    const slipwayYml = (n: number) =>
      [
        'app: bench',
        'run: node server.js',
        'port: 3000',
        'health: { path: /health, timeout: 30 }',
        'install: { command: sh install.sh, paths: [deps] }',
        'keep_releases: 3',
        `ssh: { config_file: ${sshConfig} }`,
        'rollout: { concurrency: 10 }',
        'environments:',
        '  bench:',
        `    hosts: [${hosts
          .slice(0, n)
          .map((h) => h.name)
          .join(', ')}]`,
        '',
      ].join('\n');
    const setEnv = (n: number) => {
      writeFileSync(path.join(dir, 'slipway.yml'), slipwayYml(n));
      git(dir, 'add', 'slipway.yml');
      git(dir, 'commit', '-q', '--allow-empty', '-m', `${n} hosts`);
    };
    setEnv(1);
    const shipitDir = path.join(work, `shipit-${size}`);
    const shipitDirFor = (n: number) => {
      const d = `${shipitDir}-${n}`;
      mkdirSync(d, { recursive: true });
      shipitfile(d, dir, hosts.slice(0, n));
      return d;
    };
    const run = (tool: Tool, hs: TestHost[], mode: 'first' | 'deploy' | 'rollback', install = false): Sample => {
      const names = hs.map((h) => h.name);
      const flag = install ? '1' : '0';
      switch (tool) {
        case 'slipway-cold':
          closeMasters(hs);
          return timed(
            ['node', slipwayBin, ...(mode === 'rollback' ? ['rollback', 'bench'] : ['deploy', 'bench'])],
            { cwd: dir, env: { XDG_CACHE_HOME: cache } },
            hs,
          );
        case 'slipway':
          return timed(
            ['node', slipwayBin, ...(mode === 'rollback' ? ['rollback', 'bench'] : ['deploy', 'bench'])],
            { cwd: dir, env: { XDG_CACHE_HOME: cache } },
            hs,
          );
        case 'rsync':
          return timed(
            ['bash', rsync, ...names],
            { cwd: dir, env: { SRC: dir, SSH_CONFIG: sshConfig, INSTALL: flag } },
            hs,
          );
        case 'git':
          return timed(
            ['bash', gitPull, ...names],
            { cwd: dir, env: { REPO: dir, SSH_CONFIG: sshConfig, INSTALL: flag, MODE: mode } },
            hs,
          );
        case 'shipit':
          return timed(
            [
              'node',
              shipitBin,
              'bench',
              mode === 'rollback' ? 'rollback' : 'deploy',
              ...(install ? ['install'] : []),
              'restart',
            ],
            { cwd: shipitDirFor(hs.length) },
            hs,
          );
      }
    };
    const one = [hosts[0]!];

    // first deploy: every tool starts from an empty host (and slipway from an empty local cache)
    git(dir, 'checkout', '-q', 'main');
    const firstSamples = new Map<Tool, Sample[]>(TOOLS.map((t) => [t, []]));
    for (let i = 0; i < (SCENARIOS.has('first') ? RUNS : 1); i++) {
      const msg = changeOne(dir);
      hosts[0]!.exec('sh', '-c', 'rm -rf /srv/rsync/app /srv/shipit/* && mkdir -p /srv/rsync/app');
      if (i === 0) {
        const setup = spawnSync('node', [slipwayBin, 'setup', 'bench'], { cwd: dir, encoding: 'utf8' });
        if (setup.status !== 0) throw new Error(setup.stderr);
      }
      for (const tool of TOOLS) {
        if (tool.startsWith('slipway')) {
          // a stager from the previous run may still be writing: try until it is gone
          hosts[0]!.exec(
            'sh',
            '-c',
            'for i in 1 2 3 4 5 6 7 8 9 10; do rm -rf /srv/bench/releases/* /srv/bench/current ' +
              '/srv/bench/.slipway/manifests /srv/bench/.slipway/cache /srv/bench/.slipway/staged 2>/dev/null ' +
              '&& exit 0; sleep 0.5; done; exit 1',
          );
          rmSync(cache, { recursive: true, force: true });
        }
        // every tool installs dependencies on an empty host
        firstSamples.get(tool)!.push(run(tool, one, 'first', true));
        serves(one, tool, msg);
      }
    }
    if (SCENARIOS.has('first'))
      for (const tool of TOOLS) record(`${size}: first deploy`, tool, firstSamples.get(tool)!);

    const repeat = (
      scenario: string,
      hs: TestHost[],
      prepare: () => string,
      mode: 'deploy' | 'rollback' = 'deploy',
      install = false,
    ) => {
      const samples = new Map<Tool, Sample[]>(TOOLS.map((t) => [t, []]));
      for (let i = 0; i < RUNS; i++) {
        for (const tool of TOOLS) {
          const expect = prepare();
          samples.get(tool)!.push(run(tool, hs, mode, install));
          serves(hs, tool, expect);
          if (mode === 'rollback') changeOne(dir); // move forward again (not timed), ready for the next rollback
        }
      }
      for (const tool of TOOLS) record(`${size}: ${scenario}`, tool, samples.get(tool)!);
    };

    if (SCENARIOS.has('one-file')) repeat('one-file change', one, () => changeOne(dir));

    let lock = 0;
    if (SCENARIOS.has('lockfile'))
      repeat(
        'lockfile change',
        one,
        () => {
          writeFileSync(
            path.join(dir, 'package-lock.json'),
            `{ "name": "bench", "lockfileVersion": 3, "packages": { "": { "version": "${++lock}" } } }\n`,
          );
          return changeOne(dir);
        },
        'deploy',
        true,
      );

    // rollback: each tool deploys version N+1 (untimed), then goes back to N (timed)
    const rollbackSamples = new Map<Tool, Sample[]>(TOOLS.map((t) => [t, []]));
    for (let i = 0; i < (SCENARIOS.has('rollback') ? RUNS : 0); i++) {
      for (const tool of TOOLS) {
        const back = changeOne(dir);
        run(tool, one, 'deploy');
        changeOne(dir);
        run(tool, one, 'deploy');
        if (tool === 'rsync') git(dir, 'checkout', '-q', 'HEAD~1'); // the script's only way back: ship the old tree
        rollbackSamples.get(tool)!.push(run(tool, one, 'rollback'));
        if (tool === 'rsync') git(dir, 'checkout', '-q', 'main');
        serves(one, tool, back);
      }
    }
    if (SCENARIOS.has('rollback'))
      for (const tool of TOOLS) record(`${size}: rollback`, tool, rollbackSamples.get(tool)!);

    if (size === 'medium' && SCENARIOS.has('hosts')) {
      for (const n of HOST_COUNTS) {
        const hs = hosts.slice(0, n);
        setEnv(n);
        if (n > 1) {
          const setup = spawnSync('node', [slipwayBin, 'setup', 'bench'], { cwd: dir, encoding: 'utf8' });
          if (setup.status !== 0) throw new Error(setup.stderr);
          // every tool starts from the same release on every host (shipit-deploy refuses hosts whose releases differ)
          for (const h of hs) h.exec('sh', '-c', 'rm -rf /srv/shipit/*');
          for (const tool of TOOLS) {
            if (tool === 'git') run(tool, hs, 'first', true);
            else run(tool, hs, 'deploy');
          }
        }
        repeat(`one-file change, ${n} host${n > 1 ? 's' : ''}`, hs, () => changeOne(dir));
      }
    }
    console.log(`(${size}: ${made.files} files, ${(made.bytes / 1e6).toFixed(0)} MB)`);
  }
}

function ratios(results: Result[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of results.filter((x) => x.tool === 'slipway' || x.tool === 'slipway-cold')) {
    out[`${r.scenario} (${r.tool})`] = Object.fromEntries(
      results
        .filter((x) => x.scenario === r.scenario && !x.tool.startsWith('slipway'))
        .map((b) => [`slipway/${b.tool}`, Number((r.median / b.median).toFixed(3))]),
    );
  }
  return out;
}

try {
  main();
  // scenarios not run this time keep their results from an earlier run (each scenario's tools always come from one run)
  const file = path.join(ROOT, 'bench/results/speed.json');
  const earlier = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results.filter(
        (r) => !results.some((x) => x.scenario === r.scenario),
      )
    : [];
  const all = [...earlier, ...results];
  const out = { machine: { cpus: os.cpus().length, node: process.version }, results: all, ratios: ratios(all) };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(path.join(ROOT, 'bench/results/speed.svg'), renderChart(all));
  console.log('\nslipway / baseline (median time; below 1 means slipway is faster):');
  for (const [scenario, r] of Object.entries(out.ratios))
    console.log(
      `  ${scenario.padEnd(30)} ${Object.entries(r)
        .map(([k, v]) => `${k} ${v}`)
        .join('   ')}`,
    );
  console.log('\nwrote bench/results/speed.json and bench/results/speed.svg');
} finally {
  for (const h of hosts) h.down();
  rmSync(work, { recursive: true, force: true });
}
