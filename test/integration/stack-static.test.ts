// A static front end as its users build it: a real Vite build (from npm) served by Caddy on a real Debian
// host in its own network. `slipway init` finds Vite; hashed assets are immutable and index.html is
// revalidated; a pre-compressed file is sent to a browser that takes it; a change and a rollback; a
// broken build (no index.html) is refused before it is served, under load; `spa: true` answers client-side
// routes; `slipway logs` shows the access log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { brokenUnderLoad, deploy, initFor, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const ADDRESS = '10.77.62.2';
const URL = `http://${ADDRESS}/`;
const index = (text: string) =>
  `<!doctype html><title>front</title><div id="app">${text}</div><script type="module" src="/src/main.js"></script>\n`;

async function fetchPage(url: string) {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, cache: r.headers.get('cache-control'), body: await r.text() };
}
const appText = (html: string) => /<div id="app">(.*?)<\/div>/.exec(html)?.[1];

describe('a static front end built with Vite', { skip }, () => {
  let host: TestHost;
  let repo = '';
  const say = (text: string) => {
    writeFiles(repo, { 'index.html': index(text) });
    commit(repo, text);
  };

  before(() => {
    host = bootHost('front1', 22, { address: ADDRESS, layer: SERVER_LAYER });
    repo = repoOf('front', {
      'package.json': JSON.stringify({
        name: 'front',
        private: true,
        scripts: { build: 'vite build' },
        devDependencies: { vite: '^7' },
      }),
      '.gitignore': 'node_modules\ndist\n',
      'index.html': index('v1'),
      'src/main.js': 'import "./style.css";\ndocument.title = "front";\n',
      'src/style.css': 'body { color: #123; }\n',
      'public/robots.txt': 'User-agent: *\nAllow: /\n',
    });
    writeFileSync(
      path.join(repo, 'public/robots.txt.gz'),
      gzipSync(readFileSync(path.join(repo, 'public/robots.txt'))),
    );
    execFileSync('npm', ['install', '--package-lock-only', '--silent'], { cwd: repo });
    commit(repo, 'lockfile');
  });
  after(() => {
    host?.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  let assetPath = '';
  it('init writes a static site; setup and a deploy serve the Vite build with the right cache headers', async () => {
    const config = await initFor(repo, host);
    assert.match(config, /^runtime: static$/m);
    assert.match(config, /^static_dir: dist$/m);
    await run(repo, ['setup', 'production']);
    await deploy(repo);
    const home = await fetchPage(URL);
    assert.deepEqual([home.status, appText(home.body), home.cache], [200, 'v1', 'no-cache']);
    assetPath = /src="(\/assets\/index-[^"]+\.js)"/.exec(home.body)?.[1] ?? '';
    assert.ok(assetPath, home.body);
    const asset = await fetchPage(`${URL.slice(0, -1)}${assetPath}`);
    assert.deepEqual([asset.status, asset.cache], [200, 'public, max-age=31536000, immutable']);
  });

  it("the build's .gz file goes to a browser that takes gzip; others get the plain file", async () => {
    const gz = await fetch(`${URL}robots.txt`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(await gz.text(), 'User-agent: *\nAllow: /\n');
    const plain = execFileSync('curl', ['-sS', '-D', '-', '-H', 'Accept-Encoding: identity', `${URL}robots.txt`], {
      encoding: 'utf8',
    });
    assert.doesNotMatch(plain, /content-encoding/i);
    assert.match(plain, /User-agent: \*\r?\nAllow: \/\n$/);
  });

  it('a change goes live; a rollback brings the previous build back', async () => {
    say('v2');
    await deploy(repo);
    assert.equal(appText((await fetchPage(URL)).body), 'v2');
    await run(repo, ['rollback', 'production']);
    assert.equal(appText((await fetchPage(URL)).body), 'v1');
    say('v3');
    await deploy(repo);
    assert.equal(appText((await fetchPage(URL)).body), 'v3');
  });

  it('a build without index.html is refused before it is served; no visitor sees it', async () => {
    const live = (await fetchPage(URL)).body;
    writeFiles(repo, { 'vite.config.js': 'export default { build: { rollupOptions: { input: "src/main.js" } } };\n' });
    commit(repo, 'a build with no page');
    const out = await brokenUnderLoad(repo, URL, live);
    assert.match(out, /\/ is not a file of the release \(no \/index\.html\)/);
    rmSync(path.join(repo, 'vite.config.js'));
    commit(repo, 'fixed');
  });

  it('spa: true answers client-side routes with index.html; a missing hashed asset stays a 404', async () => {
    const before = await fetchPage(`${URL}account/settings`);
    assert.equal(before.status, 404);
    const file = path.join(repo, 'slipway.yml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('# spa: true ', 'spa: true '));
    commit(repo, 'spa');
    await deploy(repo);
    const route = await fetchPage(`${URL}account/settings`);
    assert.deepEqual([route.status, appText(route.body), route.cache], [200, 'v3', 'no-cache']);
    const missing = await fetchPage(`${URL}assets/index-gone.js`);
    assert.equal(missing.status, 404);
  });

  it('slipway logs shows the access log of the site', async () => {
    const out = await run(repo, ['logs', 'production', '--lines', '500']);
    assert.match(out, /"uri":"\/account\/settings"/);
    assert.match(out, /"uri":"\/assets\/index-gone.js"/);
    assert.match(out, /"status":404/);
  });
});
