// `slipway init`: a commented slipway.yml that works for the stack found in the folder: a
// Dockerfile, a static front end (Vite, Create React App), Node, Python (pip, Gunicorn or
// uvicorn), or Go. Pure apart from reading the folder.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runtimeFor } from '../runtime/index.ts';

export type Stack =
  | { kind: 'docker'; name: string; port: number }
  | { kind: 'static'; name: string; outDir: string; hasLock: boolean }
  | { kind: 'node'; name: string; run: string; hasLock: boolean }
  | { kind: 'python'; name: string; run: string; install: string; lockfile: string }
  | { kind: 'go'; name: string };

interface PackageJson {
  name?: string;
  main?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const SERVER_FRAMEWORKS = ['express', 'fastify', 'koa', '@hapi/hapi', 'next', 'nuxt', '@nestjs/core', 'hono'];

/** The stack of the app in `dir`, in the order a user would expect to be asked about. */
export function detectStack(dir: string): Stack {
  const read = (f: string) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), 'utf8') : undefined);
  const folder = path.basename(dir);
  const dockerfile = read('Dockerfile');
  if (dockerfile !== undefined) {
    const port = Number(/^\s*EXPOSE\s+(\d+)/im.exec(dockerfile)?.[1] ?? 3000);
    return { kind: 'docker', name: folder, port };
  }
  const pkgText = read('package.json');
  if (pkgText !== undefined) return nodeStack(JSON.parse(pkgText) as PackageJson, folder, !!read('package-lock.json'));
  const python = pythonStack(dir, read);
  if (python) return python;
  const gomod = read('go.mod');
  if (gomod !== undefined) return { kind: 'go', name: /^module\s+(\S+)/m.exec(gomod)?.[1]?.split('/').pop() ?? folder };
  return { kind: 'node', name: folder, run: 'node server.js', hasLock: false };
}

function nodeStack(pkg: PackageJson, folder: string, hasLock: boolean): Stack {
  const name = pkg.name?.replace(/^@[^/]+\//, '') ?? folder;
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  const builder = deps.vite ? 'dist' : deps['react-scripts'] ? 'build' : undefined;
  if (builder && pkg.scripts?.build && !SERVER_FRAMEWORKS.some((f) => deps[f]))
    return { kind: 'static', name, outDir: builder, hasLock };
  const run = pkg.scripts?.start ?? (pkg.main ? `node ${pkg.main}` : 'node server.js');
  return { kind: 'node', name, run, hasLock };
}

function pythonStack(dir: string, read: (f: string) => string | undefined): Stack | undefined {
  const requirements = read('requirements.txt');
  const pyproject = read('pyproject.toml');
  const pipfile = read('Pipfile');
  if (requirements === undefined && pyproject === undefined && pipfile === undefined) return undefined;
  const deps = `${requirements ?? ''}\n${pyproject ?? ''}\n${pipfile ?? ''}`.toLowerCase();
  const module = ['app', 'wsgi', 'main', 'asgi'].find((m) => existsSync(path.join(dir, `${m}.py`))) ?? 'app';
  const py = '.venv/bin/python';
  const run = /\buvicorn\b/.test(deps)
    ? `${py} -m uvicorn ${module}:app --host 127.0.0.1 --port $PORT`
    : /\bgunicorn\b/.test(deps)
      ? `${py} -m gunicorn --bind 127.0.0.1:$PORT ${module}:app`
      : `${py} ${module}.py`;
  return { kind: 'python', name: path.basename(dir), run, ...pythonInstall(dir, requirements !== undefined) };
}

/**
 * How the venv is made, keyed by the lockfile of the tool the repository uses: uv, Poetry, Pipenv, else pip
 * (from wheels in the repository when it has a wheelhouse, for hosts without internet). Always in `.venv` of
 * the release, so the install cache links it into later releases and relocates its scripts.
 */
function pythonInstall(dir: string, hasRequirements: boolean): { install: string; lockfile: string } {
  const has = (f: string) => existsSync(path.join(dir, f));
  if (has('uv.lock')) return { install: 'uv sync --frozen --no-dev', lockfile: 'uv.lock' };
  if (has('poetry.lock'))
    return {
      install: 'POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --only main --no-root',
      lockfile: 'poetry.lock',
    };
  if (has('Pipfile.lock')) return { install: 'PIPENV_VENV_IN_PROJECT=1 pipenv sync', lockfile: 'Pipfile.lock' };
  const wheels = ['wheels', 'wheelhouse'].find((w) => has(w));
  const from = `${wheels ? `--no-index --find-links ${wheels} ` : ''}${hasRequirements ? '-r requirements.txt' : '.'}`;
  return {
    install: `python3 -m venv .venv && .venv/bin/python -m pip install --quiet ${from}`,
    lockfile: hasRequirements ? 'requirements.txt' : 'pyproject.toml',
  };
}

/** An app name the schema accepts, from a package or folder name. */
export function appName(raw: string): string {
  return (
    raw
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^[^a-z]+/, '')
      .replace(/-+$/, '')
      .slice(0, 40) || 'app'
  );
}

/** The commented config for the stack. */
export function initialConfig(stack: Stack): string {
  return `# slipway.yml for a ${DESCRIPTION[stack.kind]} — see \`slipway config --schema\` and the README for every key.
app: ${appName(stack.name)}

${body(stack)}
# Kept across releases, linked into each one.
shared:
  dirs: []      # e.g. [storage]
  files: []     # e.g. [.env]

hooks:
  before_activate: []   # e.g. migrations
  after_activate: []

# Secret names, read from your shell's environment when you deploy; never printed.
secrets: []

environments:
  production:
    hosts: ["deploy@your-server.example.com"]
${BEHIND_CADDY.includes(stack.kind) ? PROXY : ''}${localWorks(stack) ? LOCAL : ''}`;
}

/** The runtime a stack's template names (the rest run under systemd, or the supervisor locally). */
const RUNTIME_OF: Partial<Record<Stack['kind'], 'docker' | 'static'>> = { docker: 'docker', static: 'static' };

/** Whether the template offers the local target: its runtime's adapter must run there without a proxy. */
function localWorks(stack: Stack): boolean {
  const adapter = runtimeFor({ runtime: RUNTIME_OF[stack.kind] ?? 'supervisor' });
  return !adapter.notLocal && !adapter.needsProxy;
}

/** What init found, as it says it. */
export function stackName(stack: Stack): string {
  return DESCRIPTION[stack.kind];
}

const DESCRIPTION: Record<Stack['kind'], string> = {
  docker: 'Docker app',
  static: 'static front end',
  node: 'Node app',
  python: 'Python app',
  go: 'Go app',
};

// Stacks whose server restarts between releases (all but a static site): behind Caddy a deploy starts the new
// release on a second port and switches only once it is healthy, so no request is dropped and a broken release is
// never served.
const BEHIND_CADDY: Stack['kind'][] = ['node', 'python', 'go', 'docker'];

const PROXY = `    # Caddy in front: each release starts on a second port and takes the traffic once healthy.
    proxy:
      port: 80      # or domain: www.example.com (HTTPS by Caddy)
`;

const LOCAL = `  # A folder on this machine, run by slipway's own supervisor: try it with
  #   slipway setup local && slipway deploy local --allow-dirty
  local:
    hosts: [local]
    root: .slipway-local
    port: 3900
`;

function body(stack: Stack): string {
  switch (stack.kind) {
    case 'docker':
      return `# A container per release, built here and shipped without a registry (only the layers the host lacks).
runtime: docker
# The port the app listens on in the container (it runs with --network host and gets $PORT).
port: ${stack.port}
include: ["**"]
exclude: ["*.md"]
health:
  path: /
  timeout: 60
`;
    case 'static':
      return `# Files only: built here, served by Caddy from the release; switching is one atomic rename.
runtime: static
build: [${stack.hasLock ? '"npm ci"' : '"npm install"'}, "npm run build"]
# The build's output is git-ignored: name it to ship it.
include: ["${stack.outDir}/**"]
static_dir: ${stack.outDir}
# spa: true     # a single-page app (client-side routes): a path that is no file answers index.html
# Hashed assets (assets/, static/) are cached by browsers for good, index.html is revalidated; .br/.gz files
# of the build are sent to browsers that take them; \`slipway logs\` shows the access log.
proxy:
  port: 80      # or domain: www.example.com (HTTPS by Caddy)
health:
  path: /
`;
    case 'node':
      return `# The command that starts the app; it must listen on $PORT.
run: ${JSON.stringify(stack.run)}
port: 3000
include: ["**"]
exclude: ["test/**", "*.md"]
# Dependencies installed on the host, cached by the lockfile's content.
${stack.hasLock ? 'install:\n  command: "npm ci --omit=dev"' : '# install:\n#   command: "npm ci --omit=dev"'}
health:
  path: /
  timeout: 30
env:
  NODE_ENV: production
`;
    case 'python':
      return `# The command that starts the app; it must listen on $PORT.
run: ${JSON.stringify(stack.run)}
port: 8000
include: ["**"]
exclude: [".venv/**", "**/__pycache__/**", "tests/**", "*.md"]
# A virtual environment in the release, cached by ${stack.lockfile}'s content and linked into later releases
# (its scripts are rewritten for each). For hosts without internet, commit a wheels/ folder
# (pip download -d wheels -r requirements.txt) and install with --no-index --find-links wheels.
install:
  command: ${JSON.stringify(stack.install)}
  lockfile: ${stack.lockfile}
  paths: [.venv]
health:
  path: /
  timeout: 30
env:
  PYTHONUNBUFFERED: "1"
`;
    case 'go':
      return `# Built here for the servers (a static Linux binary), shipped as one file.
build: ["CGO_ENABLED=0 GOOS=linux go build -o ${appName(stack.name)} ."]
# The binary is git-ignored: name it to ship it.
include: ["${appName(stack.name)}"]
run: ./${appName(stack.name)}
port: 8080
health:
  path: /
  timeout: 30
`;
  }
}
