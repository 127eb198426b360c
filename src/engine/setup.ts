// Bootstrapping a host, idempotent: packages the deploy needs (apt on
// Debian/Ubuntu), the service user, the app's folders, and the runtime (unit
// file or supervisor). Each part reports whether it changed anything.
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { SlipwayError } from '../errors.ts';
import type { Events } from './events.ts';
import { AGENT, sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { ADMIN, ensureSite, isProxied, type ProxiedConfig } from '../proxy/caddy.ts';
import { runtimeFor } from '../runtime/index.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { FileSite } from '../proxy/caddy-config.ts';
import { eachHost, withSession, type Session } from './session.ts';
import MISSING from '../scripts/setup-missing.sh';
import APT_INSTALL from '../scripts/setup-apt-install.sh';
import USER from '../scripts/setup-user.sh';
import CADDY_API from '../scripts/setup-caddy-api.sh';
import DIRS from '../scripts/setup-dirs.sh';
import PUSH_REPO from '../scripts/push-repo.sh';
import PULL_GIT_KEY from '../scripts/pull-git-key.sh';
import { sshServer } from '../sources/git.ts';
import { agentWanted, installAgent } from '../agent/install.ts';

/** Commands a host needs, by runtime, and the Debian package providing each. */
export function requiredCommands(runtime: Runtime, cfg: ResolvedConfig): Record<string, string> {
  return {
    curl: 'curl',
    ...(cfg.proxy ? { caddy: 'caddy' } : {}),
    ...(cfg.git_push || cfg.pull?.source.git ? { git: 'git' } : {}),
    ...(cfg.pull?.source.git && sshServer(cfg.pull.source.git)
      ? { 'ssh-keygen': 'openssh-client', ssh: 'openssh-client' }
      : {}),
    tar: 'tar',
    ...runtime.packages,
    ...runtime.packagesFor?.(cfg),
  };
}

/** Programs that make deploys faster (zstd: binary deltas), installed on servers; this machine may lack them. */
const SPEEDUPS: Record<string, string> = { zstd: 'zstd' };

// Debian packages of the commands apps and their installs commonly start with
const PACKAGES: Record<string, string> = {
  node: 'nodejs',
  npm: 'npm',
  npx: 'npm',
  yarnpkg: 'yarnpkg',
  // with venv: an install that makes a virtual environment needs it, and it brings python3
  python3: 'python3-venv',
  pip3: 'python3-pip',
  gunicorn: 'gunicorn',
  uvicorn: 'uvicorn',
  poetry: 'python3-poetry',
  pipenv: 'pipenv',
  ruby: 'ruby',
  bundle: 'bundler',
  php: 'php-cli',
  java: 'default-jre-headless',
  git: 'git',
  make: 'make',
  sqlite3: 'sqlite3',
  psql: 'postgresql-client',
  redis: 'redis-tools',
};

// words that start a shell command without being a program to find
const NOT_PROGRAMS = new Set(['exec', 'env', 'cd', 'test', '[', 'echo', 'printf', 'true', 'false', 'set', 'export']);

/**
 * The programs the app's commands start (run, install, hooks, host checks, health, wait_for, verify): the first
 * word of each part of each command line (split at && || ; |), skipping variable assignments, shell built-ins and
 * paths (a path is inside the release, which is not on the host yet). Pure.
 */
export function commandsNeeded(cfg: ResolvedConfig): string[] {
  const lines = [
    ...(runtimeFor(cfg).runsOnHost ? [cfg.run] : []),
    cfg.install.command && !cfg.install.once ? cfg.install.command : '',
    ...cfg.hooks.before_activate,
    ...cfg.hooks.after_activate,
    ...cfg.checks.filter((c) => c.on === 'host').map((c) => c.run),
    cfg.health.command ?? '',
    ...cfg.wait_for.map((w) => w.command ?? ''),
    cfg.verify.command ?? '',
  ];
  const words = lines.flatMap((line) =>
    line.split(/&&|\|\||[;|]/).map((part) =>
      part
        .trim()
        .split(/\s+/)
        .find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) && w !== 'exec'),
    ),
  );
  return [...new Set(words)].filter(
    (w): w is string => !!w && /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(w) && !NOT_PROGRAMS.has(w),
  );
}

/** The app's commands with their Debian packages ('' when unknown). */
function appPackages(cfg: ResolvedConfig): Record<string, string> {
  return Object.fromEntries(commandsNeeded(cfg).map((c) => [c, PACKAGES[c] ?? '']));
}

/** What a host lacks of the app's commands, each with its Debian package when known (for `plan`). */
export async function missingAppCommands(h: Host, cfg: ResolvedConfig): Promise<{ command: string; pkg: string }[]> {
  const need = appPackages(cfg);
  if (!Object.keys(need).length) return [];
  const r = await h.run(sh(MISSING, ...Object.keys(need)));
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((command) => ({ command, pkg: need[command]! }));
}

// Caddy runs in API mode: caddy-api.service resumes the config last set through
// the admin API (autosaved), so a Caddy restart restores every app's site.

export interface SetupResult {
  host: string;
  changes: string[];
}

export async function setup(cfg: ResolvedConfig, events: Events): Promise<SetupResult[]> {
  return withSession(cfg, events, (s) => eachHost(s.hosts, (h) => setupHost(s.on(h), h), cfg.rollout.concurrency));
}

/** One phase of setup on a host: what it is, whether it applies, and what it changed (nothing: unchanged). */
interface SetupPhase {
  name: string;
  applies(s: Session, h: Host): boolean;
  title(s: Session, h: Host): string;
  run(s: Session, h: Host): Promise<string[]>;
}

/** The setup flow, on each host. */
const SETUP_PHASES: SetupPhase[] = [
  { name: 'packages', applies: () => true, title: () => 'packages', run: installPackages },
  {
    name: 'user',
    applies: (s, h) => !!s.runtime.appUser(s.cfg, h),
    title: (s, h) => `service user ${s.runtime.appUser(s.cfg, h)}`,
    run: createUser,
  },
  { name: 'folders', applies: () => true, title: (s) => `folders in ${s.cfg.appDir}`, run: makeFolders },
  {
    name: 'provision',
    applies: (s) => !!s.runtime.provision,
    title: (s) => s.runtime.provision!.title,
    run: async (s, h) => ((await s.runtime.configure(h, s.cfg)) ? [s.runtime.provision!.changed] : []),
  },
  {
    name: 'caddy',
    applies: (s) => isProxied(s.cfg),
    title: () => 'Caddy',
    run: (s, h) => setUpCaddy(h, s.cfg as ProxiedConfig, s.runtime.filesServed?.(s.cfg)),
  },
  {
    name: 'agent',
    applies: (s, h) => agentWanted(s.cfg, h),
    title: () => 'slipway agent',
    run: (s, h) => installAgent(h, s.cfg),
  },
  {
    name: 'git-source',
    applies: (s) => !!s.cfg.pull?.source.git && !!sshServer(s.cfg.pull.source.git),
    title: (s) => `deploy key for ${s.cfg.pull!.source.git}`,
    run: makeDeployKey,
  },
  {
    name: 'git-push',
    applies: (s) => !!s.cfg.git_push,
    title: (s) => `git push repository ${s.layout.pushRepo}`,
    run: makePushRepo,
  },
];

/**
 * The agent's read-only deploy key for the git source (made once, on the host: the private half never leaves it),
 * and the git server's host key: pull.source.host_key, or this machine's known_hosts entry (never taken on first use).
 */
async function makeDeployKey(s: Session, h: Host): Promise<string[]> {
  const source = s.cfg.pull!.source.git!;
  const known = await knownHostLines(source, s.cfg.pull!.source.host_key);
  const r = await h.run(sh(PULL_GIT_KEY, AGENT.git(s.cfg.app), `slipway-agent ${s.cfg.app}@${h.name}`), {
    input: known,
    sudo: true,
  });
  s.events.info(`${h.name}: deploy key for ${source} (add it read-only): ${r.stdout.trim()}`);
  return r.stderr.includes('created') ? ['made a deploy key'] : [];
}

async function knownHostLines(source: string, hostKey: string | undefined): Promise<string> {
  const server = sshServer(source)!;
  if (hostKey) return `${server.pattern} ${hostKey}\n`;
  const file = path.join(os.homedir(), '.ssh', 'known_hosts');
  const r = await execa('ssh-keygen', ['-F', server.pattern, '-f', file], { reject: false });
  const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
  if (!lines.length)
    throw new SlipwayError('config', `pull.source.git: no host key for ${server.pattern} in ${file}`, {
      hint:
        `connect once with ssh -p ${server.port} ${server.host} and check the fingerprint, or set ` +
        'pull.source.host_key to the key part of its known_hosts line',
    });
  return `${lines.join('\n')}\n`;
}

/** The pre-receive hook (constant): the agent's bundle finds the app from the repository it runs in. */
export const PRE_RECEIVE =
  '#!/bin/sh\n# written by slipway setup: a push to the deploy branch deploys it\n' +
  `exec node ${AGENT.bin} pre-receive\n`;

/** The bare repository `git push` deploys from, owned by the login user (who pushes). */
async function makePushRepo(s: Session, h: Host): Promise<string[]> {
  const { branch } = s.cfg.git_push!;
  const r = await h.run(sh(PUSH_REPO, s.layout.pushRepo, s.cfg.environment, h.name, branch), { input: PRE_RECEIVE });
  s.events.info(`${h.name}: git remote add ${s.cfg.environment} ${pushRemote(h, s.layout.pushRepo)}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** The remote to push to: the host as ssh reaches it (pure). */
export function pushRemote(h: Pick<Host, 'name' | 'target'>, repo: string): string {
  const t = h.target;
  if (t.kind !== 'ssh') return repo;
  return `ssh://${t.user ? `${t.user}@` : ''}${t.host ?? h.name}${t.port ? `:${t.port}` : ''}${repo}`;
}

async function setupHost(s: Session, h: Host): Promise<SetupResult> {
  const { cfg, events } = s;
  const changes: string[] = [];
  if (h.target.kind !== 'local' && h.loginUser !== 'root') await checkSudo(h);
  // refuses a user the runtime cannot run the app as, before anything changes
  s.runtime.appUser(cfg, h);
  for (const p of SETUP_PHASES.filter((x) => x.applies(s, h))) {
    await events.phase(p.name, () =>
      events.step(`${h.name}: ${p.title(s, h)}`, async (c) => {
        const done = await p.run(s, h);
        changes.push(...done);
        c.done(done.length ? done.join('; ') : 'unchanged');
      }),
    );
  }
  events.info(
    changes.length ? `${h.name}: set up (${changes.length} change(s))` : `${h.name}: already set up, nothing changed`,
  );
  return { host: h.name, changes };
}

async function createUser(s: Session, h: Host): Promise<string[]> {
  const appUser = s.runtime.appUser(s.cfg, h)!;
  const r = await h.run(sh(USER, appUser), { sudo: true });
  return r.stdout.includes('created') ? [`created user ${appUser}`] : [];
}

async function makeFolders(s: Session, h: Host): Promise<string[]> {
  const l = s.layout;
  const dirs = [l.releases, l.meta, l.logs, l.bin, l.shared];
  const appUser = s.runtime.appUser(s.cfg, h) ?? '';
  const r = await h.run(sh(DIRS, s.cfg.appDir, h.loginUser, appUser, ...dirs), { sudo: h.target.kind !== 'local' });
  const created = r.stdout.split('\n').filter(Boolean).length;
  return created ? [`created ${created} folder(s)`] : [];
}

/**
 * The programs the runtime, the proxy and the app's commands need: installed with apt, or named. Then the
 * speed-ups, which a host without the package archive goes without.
 */
async function installPackages(s: Session, h: Host): Promise<string[]> {
  const need = {
    ...appPackages(s.cfg),
    ...requiredCommands(s.runtime, s.cfg),
    ...(agentWanted(s.cfg, h) ? { node: 'nodejs' } : {}),
  };
  const speedups = h.target.kind === 'local' ? {} : SPEEDUPS;
  const argv = sh(MISSING, ...Object.keys(need), ...Object.keys(speedups));
  const missing = (await h.run(argv)).stdout.split('\n').filter(Boolean);
  const required = missing.filter((c) => !(c in speedups));
  const done = required.length ? await installRequired(h, need, required) : [];
  const optional = missing.filter((c) => c in speedups).map((c) => speedups[c]!);
  if (optional.length) done.push(await installSpeedups(h, optional));
  return done;
}

async function installSpeedups(h: Host, pkgs: string[]): Promise<string> {
  const r = await h.run(sh(APT_INSTALL, ...pkgs), { sudo: true, reject: false });
  if (r.exitCode === 0) return `installed ${pkgs.join(', ')}`;
  const why = `${r.stderr}\n${r.stdout}`.split('\n').find((l) => l.startsWith('E:')) ?? `exit ${r.exitCode}`;
  return `${pkgs.join(', ')} not installed (${why.trim()}): large changed files are sent whole`;
}

async function installRequired(h: Host, need: Record<string, string>, missing: string[]): Promise<string[]> {
  const unknown = missing.filter((c) => !need[c]);
  if (unknown.length) {
    throw new SlipwayError('failure', `${h.name}: the app's commands need ${unknown.join(', ')}, not on the host`, {
      hint: `install ${unknown.join(', ')} on the host (or fix the command in slipway.yml), then run setup again`,
    });
  }
  if (missing.includes('systemd-run')) {
    throw new SlipwayError('config', `${h.name}: no systemd on this host`, {
      hint: 'set `runtime: supervisor` for this environment',
    });
  }
  const pkgs = [...new Set(missing.map((c) => need[c]!))];
  if (h.target.kind === 'local')
    throw new SlipwayError('failure', `this machine lacks ${missing.join(', ')}`, {
      hint: `install them (Debian/Ubuntu: sudo apt-get install ${pkgs.join(' ')})`,
    });
  const r = await h.run(sh(APT_INSTALL, ...pkgs), { sudo: true, reject: false });
  if (r.exitCode === 44)
    throw new SlipwayError('failure', `${h.name}: missing ${missing.join(', ')} and no apt-get to install them`, {
      hint: "install them with the host's package manager, then run setup again",
    });
  if (r.exitCode !== 0)
    throw new SlipwayError('failure', `${h.name}: apt-get install ${pkgs.join(' ')} failed`, {
      details: r.stderr.trim() || r.stdout.trim(),
    });
  return [`installed ${pkgs.join(', ')}`];
}

async function checkSudo(h: Host): Promise<void> {
  const sudo = await h.run(['sudo', '-n', 'true'], { reject: false });
  if (sudo.exitCode !== 0)
    throw new SlipwayError('failure', `${h.name}: ${h.loginUser} is not root and cannot use sudo without a password`, {
      hint: 'set up passwordless sudo for the deploy user, or connect as root for setup',
    });
}

/** Caddy in API mode, and the app's site in it. */
async function setUpCaddy(h: Host, cfg: ProxiedConfig, files: FileSite | undefined): Promise<string[]> {
  const r = await h.run(sh(CADDY_API, ADMIN), { sudo: true, reject: false });
  if (r.exitCode !== 0)
    throw new SlipwayError('failure', `${h.name}: could not start Caddy in API mode (caddy-api.service)`, {
      details: r.stderr.trim() || r.stdout.trim(),
      hint: 'see: journalctl -u caddy-api',
    });
  const done = r.stdout.split('\n').filter(Boolean);
  if (await ensureSite(h, cfg, files)) done.push(`site ${cfg.proxy.domain ?? `:${cfg.proxy.port}`} → ${cfg.app}`);
  return done;
}
