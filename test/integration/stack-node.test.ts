// A Node app as its users deploy it: `slipway init` finds package.json and its lockfile; a real Debian host
// in its own network with Debian's nodejs and npm runs `npm ci` (cached by the lockfile) and the app under
// systemd, behind Caddy on port 80; a change, a rollback, and a release that crashes at start rolled back
// with no visitor seeing it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { brokenUnderLoad, deploy, initFor, page, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const ADDRESS = '10.77.65.2';
const URL = `http://${ADDRESS}/`;
const LAYER = { name: 'node', packages: [...SERVER_LAYER.packages, 'nodejs', 'npm'] };
const server = (message: string, start = '') => `${start}require('node:http')
  .createServer((req, res) => res.end('${message}\\n'))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

describe('a Node app', { skip }, () => {
  let host: TestHost;
  let repo = '';
  const say = (message: string, start = '') => {
    writeFiles(repo, { 'server.js': server(message, start) });
    commit(repo, message);
  };

  before(() => {
    host = bootHost('node1', 22, { address: ADDRESS, layer: LAYER });
    repo = repoOf('shop', {
      'package.json': JSON.stringify({ name: 'shop', private: true, scripts: { start: 'node server.js' } }),
      'server.js': server('v1'),
      '.gitignore': 'node_modules\n',
    });
    execFileSync('npm', ['install', '--package-lock-only', '--silent'], { cwd: repo });
    commit(repo, 'lockfile');
  });
  after(() => {
    host?.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it('init writes the start script and npm ci; setup and deploy serve it through Caddy', async () => {
    const config = await initFor(repo, host);
    assert.match(config, /^run: "node server\.js"$/m);
    assert.match(config, /command: "npm ci --omit=dev"/);
    await run(repo, ['setup', 'production']);
    await deploy(repo);
    assert.equal(await page(URL), 'v1\n');
  });

  it('a change reuses the install; a rollback brings the previous release back', async () => {
    say('v2');
    assert.match(await run(repo, ['deploy', 'production']), /unchanged lockfile: reused/);
    assert.equal(await page(URL), 'v2\n');
    await run(repo, ['rollback', 'production']);
    assert.equal(await page(URL), 'v1\n');
  });

  it('a release that crashes at start is rolled back; no visitor sees it', async () => {
    say('never', 'console.error("no DATABASE_URL"); process.exit(3);\n');
    const out = await brokenUnderLoad(repo, URL, 'v1\n');
    assert.match(out, /systemd gave up on slipway-shop@[ab]\.service: it kept exiting \(last exit status 3\)/);
    assert.match(out, /no DATABASE_URL/);
  });
});
