// npm run demo: deploy the example app (examples/hello) to a local target,
// show it answering, deploy a change, roll back, and time each step.
// Everything lives in .slipway-demo/; pass --keep to leave the app running.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin/slipway.js');
const work = path.join(root, '.slipway-demo');
const app = path.join(work, 'hello');
const keep = process.argv.includes('--keep');
const tty = process.stdout.isTTY;
const bold = (s) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s) => (tty ? `\x1b[32m${s}\x1b[0m` : s);

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function git(...args) {
  execFileSync('git', ['-c', 'user.name=slipway demo', '-c', 'user.email=demo@localhost', ...args], {
    cwd: app,
    stdio: 'ignore',
  });
}

const timings = [];
function slipway(title, ...args) {
  console.log(`\n${bold(`$ slipway ${args.join(' ')}`)}`);
  const start = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const ms = performance.now() - start;
  if (r.status !== 0) {
    console.error(`demo: \`slipway ${args.join(' ')}\` failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  timings.push([title, ms]);
  return JSON.parse(r.stdout || '{}');
}

async function show(port) {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  console.log(green(`  GET http://127.0.0.1:${port}/ → ${res.status} ${(await res.text()).trim()}`));
}

const stopPrevious = () => spawnSync(process.execPath, [cli, 'stop', 'demo'], { cwd: app, stdio: 'ignore' });
stopPrevious();
rmSync(work, { recursive: true, force: true });
cpSync(path.join(root, 'examples/hello'), app, { recursive: true });
const port = await freePort();
const config = path.join(app, 'slipway.yml');
writeFileSync(config, readFileSync(config, 'utf8').replace(/^port: \d+$/m, `port: ${port}`));
git('init', '-q');
git('add', '-A');
git('commit', '-q', '-m', 'Hello from slipway');

console.log(
  `slipway demo: the example app in ${path.relative(root, app)}, deployed to a folder on this machine ` +
    `(${path.relative(root, path.join(app, '.slipway-local'))})`,
);
slipway('setup', 'setup', 'demo');
const first = slipway('first deploy', 'deploy', 'demo');
await show(port);

writeFileSync(path.join(app, 'message.txt'), 'Hello again: this change went live with one command\n');
git('commit', '-q', '-am', 'Change the greeting');
slipway('deploy a change', 'deploy', 'demo');
await show(port);

slipway('rollback', 'rollback', 'demo');
await show(port);

console.log(`\n${bold('$ slipway releases demo')}`);
spawnSync(process.execPath, [cli, 'releases', 'demo'], { cwd: app, stdio: 'inherit' });

console.log('\nHow long each command took (end to end, including starting the CLI):');
for (const [title, ms] of timings) console.log(`  ${title.padEnd(18)} ${(ms / 1000).toFixed(2)}s`);
console.log(`\nThe first release ${first.release} is live again.`);
if (keep) {
  console.log(
    `The app keeps running on port ${port}. Try: cd ${path.relative(process.cwd(), app)} && node ` +
      `${path.relative(app, cli)} status demo`,
  );
} else {
  stopPrevious();
  console.log('Stopped the demo app (run `npm run demo -- --keep` to leave it running).');
}
