// A Python service as its users deploy it (Flask-style WSGI under Gunicorn, a console script for
// migrations), on a real Debian host with only Debian's python3-venv and no package index: `slipway
// init` finds Gunicorn and the wheelhouse; the venv made in the first release is linked into the
// later ones and still works once that release is pruned; Gunicorn is the unit's main process;
// a broken release is rolled back with no visitor seeing it.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { brokenUnderLoad, deploy, initFor, page, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';
import { debianGunicornWheel, wheelOf } from '../helpers/wheels.ts';

const skip = testhostUnavailable();
const ADDRESS = '10.77.61.2';
const URL = `http://${ADDRESS}/`;
const LAYER = { name: 'python', packages: [...SERVER_LAYER.packages, 'python3-venv'] };

const APP = `import pathlib

import pyapp


def app(environ, start_response):
    body = f"{pathlib.Path('message.txt').read_text().strip()} (pyapp {pyapp.__version__})\\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`;

describe('a Python service under Gunicorn', { skip }, () => {
  let host: TestHost;
  let repo = '';
  const say = (message: string) => {
    writeFiles(repo, { 'message.txt': `${message}\n` });
    commit(repo, message);
  };
  const releases = () => host.exec('ls', '/srv/api/releases').trim().split('\n');

  before(() => {
    host = bootHost('py1', 22, { address: ADDRESS, layer: LAYER });
    repo = repoOf('api', { 'app.py': APP, 'requirements.txt': 'gunicorn\npyapp\n', 'message.txt': 'v1\n' });
    mkdirSync(path.join(repo, 'wheels'));
    debianGunicornWheel(path.join(repo, 'wheels'));
    const pyapp = { 'pyapp/__init__.py': '__version__ = "1.0"\n\n\ndef migrate():\n    print("migrated")\n' };
    wheelOf(path.join(repo, 'wheels'), 'pyapp', '1.0', pyapp, ['pyapp-migrate=pyapp:migrate']);
    commit(repo, 'wheels');
  });
  after(() => {
    host?.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  let first = '';
  it('init writes a config for Gunicorn from the wheelhouse; setup and deploy serve it through Caddy', async () => {
    const config = await initFor(repo, host);
    assert.match(config, /^run: "\.venv\/bin\/python -m gunicorn --bind 127\.0\.0\.1:\$PORT app:app"$/m);
    assert.match(config, /--no-index --find-links wheels -r requirements\.txt/);
    await run(repo, ['setup', 'production']);
    first = await deploy(repo);
    assert.equal(await page(URL), 'v1 (pyapp 1.0)\n');
  });

  it("Gunicorn itself is the slot's main process, not a shell in front of it", () => {
    const pid = host.exec('sh', '-c', 'systemctl show -p MainPID --value slipway-api@a slipway-api@b').split('\n');
    const main = pid.map((p) => p.trim()).find((p) => p && p !== '0')!;
    const cmdline = host.exec('cat', `/proc/${main}/cmdline`).split('\0');
    assert.deepEqual(cmdline.slice(1, 3), ['-m', 'gunicorn'], cmdline.join(' '));
    assert.match(cmdline[0] ?? '', /^(.*\/)?\.venv\/bin\/python$/);
  });

  it('a change goes live with the venv from the cache; a rollback brings the first back', async () => {
    say('v2');
    const out = await run(repo, ['deploy', 'production']);
    assert.match(out, /unchanged lockfile: reused/);
    assert.equal(await page(URL), 'v2 (pyapp 1.0)\n');
    await run(repo, ['rollback', 'production']);
    assert.equal(await page(URL), 'v1 (pyapp 1.0)\n');
  });

  it("once the release the venv was made in is pruned, the venv's scripts still work", async () => {
    for (const n of [3, 4, 5, 6, 7]) {
      say(`v${n}`);
      await deploy(repo);
    }
    assert.ok(!releases().includes(first), `${first} was pruned: ${releases().join(' ')}`);
    assert.equal(await page(URL), 'v7 (pyapp 1.0)\n');
    assert.match(await run(repo, ['exec', 'production', '--', '.venv/bin/pyapp-migrate']), /migrated/);
    assert.match(await run(repo, ['exec', 'production', '--', '.venv/bin/gunicorn', '--version']), /gunicorn/i);
    assert.match(await run(repo, ['exec', 'production', '--', '.venv/bin/pip', '--version']), /^pip /m);
  });

  it('a release that cannot import is rolled back; no visitor sees it', async () => {
    writeFiles(repo, { 'app.py': `raise SystemExit("no config")\n${APP}` });
    commit(repo, 'broken');
    const out = await brokenUnderLoad(repo, URL, 'v7 (pyapp 1.0)\n');
    assert.match(out, /no config/);
  });
});
