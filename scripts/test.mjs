// The test suite in two lanes run side by side, each one file at a time (the machine has two cores). Test hosts that
// share this machine's network use fixed ports, Caddy's admin port 2019 and a registry on 5000, so every file with
// such hosts runs in the first lane. Files whose hosts all have a network of their own (`address:` 10.77.X.2) may
// run beside them; they are split between the lanes by how long they took. Exit status: the first lane's failure,
// else the second's.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** files whose hosts each have their own network namespace, with the seconds they took in a CI run */
const OWN_NETWORK = {
  'faults.test.ts': 245,
  'stack-docker.test.ts': 240,
  'swarm.test.ts': 170,
  'swarm-join.test.ts': 52,
  'swarm-promote.test.ts': 130,
  'conformance-swarm.test.ts': 76,
  'conformance-docker.test.ts': 25,
  'conformance-supervisor.test.ts': 19,
  'conformance-systemd.test.ts': 18,
  'conformance-static.test.ts': 7,
  'stack-python.test.ts': 65,
  'sync.test.ts': 51,
  'dashboard.test.ts': 72,
  'dashboard-hosts.test.ts': 55,
  'stack-node.test.ts': 42,
  'many-hosts.test.ts': 40,
  'pipeline.test.ts': 32,
  'stack-static.test.ts': 27,
  'pull-git.test.ts': 23,
  'stack-go.test.ts': 22,
  'webhook.test.ts': 12,
  'self-target.test.ts': 11,
};
/** the seconds the first lane's own files take, about (unit tests, then every shared-network file) */
const SHARED_SECONDS = 790;

const integration = readdirSync('test/integration').filter((f) => f.endsWith('.test.ts'));
const free = integration.filter((f) => f in OWN_NETWORK).sort((a, b) => OWN_NETWORK[b] - OWN_NETWORK[a]);
const lanes = [
  { files: integration.filter((f) => !(f in OWN_NETWORK)), seconds: SHARED_SECONDS },
  { files: [], seconds: 0 },
];
// longest first, each to the lane that would end sooner
for (const f of free) {
  const lane = lanes[0].seconds <= lanes[1].seconds ? lanes[0] : lanes[1];
  lane.files.push(f);
  lane.seconds += OWN_NETWORK[f];
}
const unit = readdirSync('test/unit')
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/unit/${f}`);

/** each failing test's TAP block ("not ok" and its indented diagnostics), so the end of the log says what failed */
function failures(lines) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - /.exec(lines[i]);
    if (!m) continue;
    const block = [lines[i]];
    for (let j = i + 1; j < lines.length && block.length < 40; j++) {
      const indent = /^(\s*)/.exec(lines[j])[1].length;
      if (indent <= m[1].length && !lines[j].startsWith(`${m[1]}  `)) break;
      block.push(lines[j]);
    }
    blocks.push(block.join('\n'));
  }
  return blocks;
}

function run(name, files, cache) {
  const args = ['--import', 'tsx', '--import', './scripts/text-loader.mjs', '--test', '--test-concurrency=1', ...files];
  // each lane's deploys keep their caches (hashes, manifests, delta references) apart from the other lane's
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const seen = [];
  const prefix = (stream, out) => {
    let rest = '';
    stream.on('data', (c) => {
      const lines = (rest + c).split('\n');
      rest = lines.pop();
      for (const line of lines) out.write(`[${name}] ${line}\n`);
      if (out === process.stdout) seen.push(...lines);
    });
    stream.on('end', () => rest && out.write(`[${name}] ${rest}\n`));
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, failed: failures(seen) })));
}

const began = Date.now();
const caches = ['1', '2'].map((n) => mkdtempSync(path.join(os.tmpdir(), `slipway-test-cache-${n}-`)));
const results = await Promise.all([
  run('1', [...unit, ...lanes[0].files.map((f) => `test/integration/${f}`)], caches[0]),
  run(
    '2',
    lanes[1].files.map((f) => `test/integration/${f}`),
    caches[1],
  ),
]);
for (const c of caches) rmSync(c, { recursive: true, force: true });
const codes = results.map((r) => r.code);
results.forEach((r, i) => {
  for (const block of r.failed) console.log(`\nfailed in lane ${i + 1}:\n${block}`);
});
console.log(`tests: lane 1 exit ${codes[0]}, lane 2 exit ${codes[1]}, ${Math.round((Date.now() - began) / 1000)} s`);
process.exit(codes.find((c) => c !== 0) ?? 0);
