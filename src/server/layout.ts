// Where things live on a host, per app:
//   <appDir>/releases/<id>/    immutable once activated
//   <appDir>/current -> releases/<id>
//   <appDir>/shared/           persistent paths linked into every release
//   <appDir>/.slipway/         lock, history, env file, caches, supervisor
import path from 'node:path';

export function layout(appDir: string) {
  const meta = path.posix.join(appDir, '.slipway');
  return {
    appDir,
    releases: path.posix.join(appDir, 'releases'),
    current: path.posix.join(appDir, 'current'),
    shared: path.posix.join(appDir, 'shared'),
    meta,
    lock: path.posix.join(meta, 'lock'),
    history: path.posix.join(meta, 'history.jsonl'),
    /** what the host should run (see desired.ts) */
    desired: path.posix.join(meta, 'desired.json'),
    incoming: path.posix.join(meta, 'incoming'),
    /** deploys waiting for approval, and the answers (a file per release) */
    approvals: path.posix.join(meta, 'approvals'),
    manifests: path.posix.join(meta, 'manifests'),
    staged: path.posix.join(meta, 'staged'),
    /** copies of releases whose files were changed on the host, replaced by a sync and kept for a look */
    changed: path.posix.join(meta, 'changed'),
    installCache: path.posix.join(meta, 'cache', 'install'),
    envFile: path.posix.join(meta, 'env'),
    /** the same variables in docker's format, for the docker runtime */
    dockerEnvFile: path.posix.join(meta, 'docker.env'),
    /** the owner the docker runtime found for the shared folders, by image */
    dockerOwner: path.posix.join(meta, 'docker-owner'),
    bin: path.posix.join(meta, 'bin'),
    supervisorBin: path.posix.join(meta, 'bin', 'supervisor.cjs'),
    logs: path.posix.join(meta, 'logs'),
    /** the supervisor's app log */
    appLog: path.posix.join(meta, 'logs', 'app.log'),
    /** the supervisor's settings (run, ports, user) and its per-instance state folders */
    appConfig: path.posix.join(meta, 'app.json'),
    supervisor: path.posix.join(meta, 'supervisor'),
    /** the supervisor's state of an instance (a slot, or `main`) */
    instanceState: (slot?: string) => path.posix.join(meta, 'supervisor', slot ?? 'main', 'state.json'),
    /** the runtime config a deploy replaced, kept so that a failed deploy can put it back */
    replacedUnit: path.posix.join(meta, 'unit.replaced'),
    /** the link an instance runs from: `current`, or a blue/green slot's */
    instanceLink: (slot?: string) =>
      slot ? path.posix.join(appDir, 'slots', slot) : path.posix.join(appDir, 'current'),
    release: (id: string) => path.posix.join(appDir, 'releases', id),
    /** `git_push`: the bare repository pushes deploy from (its pre-receive hook), and the hook's scratch folder */
    pushRepo: path.posix.join(meta, 'push.git'),
    pushWork: path.posix.join(meta, 'push-work'),
  };
}

export type Layout = ReturnType<typeof layout>;

/** The slipway agent's files on a host: one agent for every app there (src/agent). */
export const AGENT = {
  /** the bundled agent (dist/agent.mjs): needs only Node >= 18 */
  bin: '/usr/local/lib/slipway/agent.mjs',
  unit: 'slipway-agent.service',
  unitFile: '/etc/systemd/system/slipway-agent.service',
  dir: '/var/lib/slipway-agent',
  /** one file per app (root only): where it lives and its webhooks */
  apps: '/var/lib/slipway-agent/apps',
  app: (name: string) => `/var/lib/slipway-agent/apps/${name}.json`,
  /** what the agent remembers across restarts: heals, backoff, what it reported */
  state: '/var/lib/slipway-agent/state.json',
  /** the hash cache of the releases it verifies */
  cache: '/var/lib/slipway-agent/cache',
  /** artifacts the agent pulled, per app, until they are deployed */
  pulled: (name: string) => `/var/lib/slipway-agent/pull/${name}`,
  /** a git source's files (root only): the deploy key, the server's known host key, ssh's wrapper, the mirror */
  git: (name: string) => `/var/lib/slipway-agent/git/${name}`,
  /** root-only unix socket: the CLI (over SSH) asks the agent here; no TCP port */
  socket: '/run/slipway-agent.sock',
  /** webhooks from CI, passed on by Caddy (its group may connect); every request must be signed with the secret */
  hooksSocket: '/run/slipway-agent-hooks.sock',
  /** each app's webhook secret (root only), made by the agent when the app first has `pull.webhook` */
  hookSecret: (name: string) => `/var/lib/slipway-agent/hooks/${name}.secret`,
  /** webhook deliveries seen in the last 72 hours: a replay is refused */
  hooksSeen: '/var/lib/slipway-agent/hooks/seen.json',
  /** runs in progress (deploy, rollback, restart …): a file of events each, per app, on tmpfs (the dashboard's) */
  live: '/run/slipway-agent-live',
  /** the dashboard (src/web), for the CLI's SSH tunnel and for Caddy; every request needs a session */
  webSocket: '/run/slipway-agent-web.sock',
  /** dashboard logins: one-time links and sessions, by their hash (root only) */
  webTokens: '/var/lib/slipway-agent/web/tokens.json',
  /** health-check latency and the app's CPU and memory, a sample a minute, a week kept (bounded) */
  samples: (name: string) => `/var/lib/slipway-agent/samples/${name}.jsonl`,
  /** the config each release of an app was deployed with, as the agent saw it desired (the dashboard's diffs) */
  releaseConfig: (name: string, release: string) => `/var/lib/slipway-agent/configs/${name}/${release}.json`,
} as const;

/** A static site's access log, written by Caddy (its user owns the folder) */
export const siteAccessLog = (app: string) => `/var/log/caddy/slipway-${app}.access.log`;

/** argv running a constant POSIX sh script with values as positional parameters ($1, $2 …). */
export function sh(script: string, ...args: string[]): string[] {
  return ['sh', '-c', script, 'slipway', ...args];
}

/**
 * A host script from its parts (src/scripts/*.sh: functions and fragments first), with constants of the code
 * (exit codes, a column) set as shell variables before them: numbers only, never a user value.
 */
export function script(values: Record<string, number>, ...parts: string[]): string {
  return [...Object.entries(values).map(([k, v]) => `${k}=${v}`), ...parts].join('\n');
}

/**
 * One argv that runs `first`, then, if it succeeded, `next`: two steps in one
 * round trip. The script refers to the arguments only by position, so no value
 * is ever part of the shell code. Stdin goes to `first`; the exit status is the
 * first failure's, or `next`'s.
 */
export function andThen(first: readonly string[], next: readonly string[]): string[] {
  const refs = first.map((_, i) => `"\${${i + 1}}"`).join(' ');
  return ['sh', '-c', `${refs} || exit $?\nshift ${first.length}\nexec "$@" </dev/null`, 'slipway', ...first, ...next];
}

/** Exit status the scripts use for "this app is not set up on the host". */
export const NOT_SET_UP = 40;
