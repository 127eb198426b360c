// `slipway init` per stack: what it finds in a sample repository, and that the config it writes
// loads, with the keys that make that stack work.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { detectStack, initialConfig } from '../../src/cli/init.ts';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';

const dirs: string[] = [];
function repo(name: string, files: Record<string, string>): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-init-')), name);
  dirs.push(path.dirname(dir));
  mkdirSync(dir);
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  return dir;
}
const resolved = (dir: string) =>
  resolveEnvironment(parseConfig(initialConfig(detectStack(dir)), path.join(dir, 'slipway.yml')), 'production');

describe('slipway init', () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('Node: the start script, npm ci when there is a lockfile', () => {
    const dir = repo('shop', {
      'package.json': JSON.stringify({ name: '@acme/shop', scripts: { start: 'node server.js' } }),
      'package-lock.json': '{}',
    });
    assert.deepEqual(detectStack(dir), { kind: 'node', name: 'shop', run: 'node server.js', hasLock: true });
    const cfg = resolved(dir);
    assert.deepEqual(
      [cfg.app, cfg.run, cfg.install.command, cfg.runtime],
      ['shop', 'node server.js', 'npm ci --omit=dev', 'systemd'],
    );
    assert.equal(cfg.proxy?.port, 80);
  });

  it('a Vite front end is a static site: built here, dist/ shipped and served by Caddy', () => {
    const dir = repo('front', {
      'package.json': JSON.stringify({
        name: 'front',
        scripts: { build: 'vite build' },
        devDependencies: { vite: '5' },
      }),
      'package-lock.json': '{}',
    });
    assert.deepEqual(detectStack(dir), { kind: 'static', name: 'front', outDir: 'dist', hasLock: true });
    const cfg = resolved(dir);
    assert.deepEqual(
      [cfg.runtime, cfg.build, cfg.include, cfg.static_dir, cfg.proxy?.port],
      ['static', ['npm ci', 'npm run build'], ['dist/**'], 'dist', 80],
    );
    // the local target serves no proxy, so a static site's template offers none
    assert.deepEqual(
      [...initialConfig(detectStack(dir)).matchAll(/^ {2}([a-z]+):$/gm)].map((m) => m[1]),
      ['production'],
    );
  });

  it('Create React App builds into build/; a Vite app with a server framework stays a Node app', () => {
    const cra = repo('cra', {
      'package.json': JSON.stringify({
        scripts: { build: 'react-scripts build' },
        dependencies: { 'react-scripts': '5' },
      }),
    });
    assert.deepEqual(detectStack(cra), { kind: 'static', name: 'cra', outDir: 'build', hasLock: false });
    const ssr = repo('ssr', {
      'package.json': JSON.stringify({
        scripts: { build: 'vite build', start: 'node server.js' },
        dependencies: { express: '4', vite: '5' },
      }),
    });
    assert.equal(detectStack(ssr).kind, 'node');
  });

  it('Python with Gunicorn: a venv in the release, blue/green behind Caddy in production', () => {
    const dir = repo('api', { 'requirements.txt': 'flask==3.0\ngunicorn==21.2\n', 'wsgi.py': 'app = None\n' });
    const cfg = resolved(dir);
    assert.equal(cfg.run, '.venv/bin/python -m gunicorn --bind 127.0.0.1:$PORT wsgi:app');
    assert.deepEqual(
      [cfg.install.command, cfg.install.lockfile, cfg.install.paths],
      [
        'python3 -m venv .venv && .venv/bin/python -m pip install --quiet -r requirements.txt',
        'requirements.txt',
        ['.venv'],
      ],
    );
    assert.equal(cfg.port, 8000);
    assert.equal(cfg.proxy?.port, 80);
  });

  it('Python without internet: a wheels/ folder in the repository is the only index', () => {
    const dir = repo('offline', { 'requirements.txt': 'gunicorn\n', 'app.py': '' });
    mkdirSync(path.join(dir, 'wheels'));
    assert.equal(
      resolved(dir).install.command,
      'python3 -m venv .venv && .venv/bin/python -m pip install --quiet --no-index --find-links wheels ' +
        '-r requirements.txt',
    );
  });

  it("Python's lockfiles key the cache: uv, Poetry and Pipenv make the venv in the release", () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ 'pyproject.toml': '[project]\n', 'uv.lock': '' }, 'uv sync --frozen --no-dev', 'uv.lock'],
      [
        { 'pyproject.toml': '[tool.poetry]\n', 'poetry.lock': '' },
        'POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --only main --no-root',
        'poetry.lock',
      ],
      [
        { Pipfile: '[packages]\ngunicorn = "*"\n', 'Pipfile.lock': '{}' },
        'PIPENV_VENV_IN_PROJECT=1 pipenv sync',
        'Pipfile.lock',
      ],
    ];
    for (const [files, command, lockfile] of cases) {
      const cfg = resolved(repo('locked', { ...files, 'app.py': '' }));
      assert.deepEqual([cfg.install.command, cfg.install.lockfile, cfg.install.paths], [command, lockfile, ['.venv']]);
    }
    assert.equal(
      resolved(repo('pipenv', { Pipfile: 'gunicorn = "*"\n', 'Pipfile.lock': '{}', 'wsgi.py': '' })).run,
      '.venv/bin/python -m gunicorn --bind 127.0.0.1:$PORT wsgi:app',
    );
  });

  it('Python with uvicorn from pyproject.toml', () => {
    const dir = repo('svc', { 'pyproject.toml': '[project]\ndependencies = ["fastapi", "uvicorn"]\n', 'main.py': '' });
    const cfg = resolved(dir);
    assert.equal(cfg.run, '.venv/bin/python -m uvicorn main:app --host 127.0.0.1 --port $PORT');
    assert.equal(cfg.install.command, 'python3 -m venv .venv && .venv/bin/python -m pip install --quiet .');
    assert.equal(cfg.install.lockfile, 'pyproject.toml');
  });

  it('Go: a static Linux binary built here, named after the module, shipped alone', () => {
    const dir = repo('gosvc', { 'go.mod': 'module github.com/acme/hello-api\n\ngo 1.22\n', 'main.go': '' });
    assert.deepEqual(detectStack(dir), { kind: 'go', name: 'hello-api' });
    const cfg = resolved(dir);
    assert.deepEqual(
      [cfg.build, cfg.include, cfg.run],
      [['CGO_ENABLED=0 GOOS=linux go build -o hello-api .'], ['hello-api'], './hello-api'],
    );
    assert.equal(cfg.proxy?.port, 80);
  });

  it('a Dockerfile wins: the docker runtime, the port it EXPOSEs', () => {
    const dir = repo('boxed', {
      Dockerfile: 'FROM node:20\nEXPOSE 8080\nCMD ["node", "server.js"]\n',
      'package.json': '{}',
    });
    assert.deepEqual(detectStack(dir), { kind: 'docker', name: 'boxed', port: 8080 });
    const cfg = resolved(dir);
    assert.deepEqual([cfg.runtime, cfg.port, cfg.run, cfg.proxy?.port], ['docker', 8080, '', 80]);
  });

  it('an empty folder gets the Node template; every template has a working local environment or none', () => {
    const dir = repo('Empty_Dir', {});
    const cfg = resolved(dir);
    assert.deepEqual([cfg.app, cfg.run], ['empty-dir', 'node server.js']);
    const local = resolveEnvironment(
      parseConfig(initialConfig(detectStack(dir)), path.join(dir, 'slipway.yml')),
      'local',
    );
    assert.equal(local.runtime, 'supervisor');
  });
});
