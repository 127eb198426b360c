// What a host should run, written on the host (`.slipway/desired.json`) by every deploy, rollback
// and promotion that succeeds: the release, its manifest digest, the host-side spec it runs with
// (AppSpec) and that spec's hash, a generation that only grows, who and when. An agent on the host,
// or `status`, compares it with what is there (observeSync).
import { createHash } from 'node:crypto';
import type { ResolvedConfig } from '../config/load.ts';
import { type Layout, sh } from './layout.ts';
import type { HostState } from './state.ts';
import WRITE from '../scripts/desired-write.sh';

/** What the host runs the app with: everything a host needs to converge to the release, no secret values. */
export interface AppSpec {
  app: string;
  environment: string;
  runtime: ResolvedConfig['runtime'];
  user: string;
  run: string;
  port: number;
  stop_timeout: number;
  health: ResolvedConfig['health'];
  proxy?: ResolvedConfig['proxy'];
  shared: ResolvedConfig['shared'];
  /** env variable names (values live in the env file), secrets included */
  env: string[];
}

/**
 * The role's resolved config as the agent runs it on the host: without this machine's paths, the other roles and the
 * webhooks (their URLs often hold a token; the agent keeps them in a root-only file of its own).
 */
export type HostConfig = Omit<ResolvedConfig, 'roles' | 'webhooks' | 'targets' | 'dir' | 'file'>;

export interface Desired {
  app: string;
  environment: string;
  release: string;
  manifest: string;
  spec: AppSpec;
  spec_hash: string;
  /** what the agent needs to converge the host to the release (absent when written by an older slipway) */
  config?: HostConfig;
  generation: number;
  by: string;
  at: string;
  command: string;
}

/** The host-side spec of a role's config (pure). */
export function appSpec(cfg: ResolvedConfig): AppSpec {
  return {
    app: cfg.app,
    environment: cfg.environment,
    runtime: cfg.runtime,
    user: cfg.user,
    run: cfg.run,
    port: cfg.port,
    stop_timeout: cfg.stop_timeout,
    health: cfg.health,
    ...(cfg.proxy ? { proxy: cfg.proxy } : {}),
    shared: cfg.shared,
    env: [...new Set([...Object.keys(cfg.env), ...cfg.secrets])].sort(),
  };
}

/** sha256 of the spec's JSON with its keys sorted: the same spec always hashes the same (pure). */
export function specHash(spec: AppSpec): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(sorted(spec)))
    .digest('hex');
}

/** The config the agent runs the app with (pure). */
export function hostConfig(cfg: ResolvedConfig): HostConfig {
  const { roles: _roles, webhooks: _webhooks, targets: _targets, dir: _dir, file: _file, ...rest } = cfg;
  // as it reads back from the host: without the keys that are undefined
  return JSON.parse(JSON.stringify(rest)) as HostConfig;
}

/** The desired state after a release goes live on a host; its generation follows the host's last (pure). */
export function nextDesired(
  cfg: ResolvedConfig,
  state: Pick<HostState, 'desired'>,
  release: { id: string; manifest: string },
  who: { user: string; machine: string; command: string },
): Desired {
  const spec = appSpec(cfg);
  return {
    app: cfg.app,
    environment: cfg.environment,
    release: release.id,
    manifest: release.manifest,
    spec,
    spec_hash: specHash(spec),
    config: hostConfig(cfg),
    generation: (state.desired?.generation ?? 0) + 1,
    by: `${who.user}@${who.machine}`,
    at: new Date().toISOString(),
    command: who.command,
  };
}

// $1 file, $2 content: written whole, then renamed into place

/** argv that writes the desired state atomically (it holds no secret: it goes as an argument). */
export function desiredArgv(l: Layout, d: Desired): string[] {
  return sh(WRITE, l.desired, JSON.stringify(d));
}

/** The desired state as the host's state read prints it; undefined when none is written or it is unreadable. */
export function parseDesired(text: string): Desired | undefined {
  try {
    const d = JSON.parse(text) as Desired;
    return typeof d?.release === 'string' && typeof d.generation === 'number' ? d : undefined;
  } catch {
    return undefined;
  }
}

export type Sync = 'Synced' | 'OutOfSync' | 'Unknown';

/**
 * Whether a host runs what it should (pure): the release it serves (`serving`: the current link, or the live
 * slot's behind the proxy) is the desired one, that release is complete on the host, and nothing slipway writes
 * (`drift`: the unit, Caddy's site) was changed since.
 */
export function observeSync(
  state: Pick<HostState, 'desired' | 'releases' | 'manifests'>,
  serving: string | undefined,
  drift: string[] = [],
): { sync: Sync; reasons: string[] } {
  const d = state.desired;
  if (!d) return { sync: 'Unknown', reasons: ['no desired state recorded yet (written by the next deploy)'] };
  const reasons: string[] = [];
  if (!state.releases.some((r) => r.id === d.release)) reasons.push(`release ${d.release} is not on the host`);
  else if (!state.manifests[d.release]) reasons.push(`release ${d.release} has no manifest (incomplete)`);
  if (serving !== d.release) reasons.push(`serving ${serving ?? 'nothing'}, desired ${d.release}`);
  reasons.push(...drift);
  return { sync: reasons.length ? 'OutOfSync' : 'Synced', reasons };
}

/** The environment's desired state: the newest written on any of its hosts, and where (pure). */
export function environmentDesired(
  hosts: { host: string; desired?: Desired }[],
): { host: string; desired: Desired } | undefined {
  let newest: { host: string; desired: Desired } | undefined;
  for (const { host, desired } of hosts)
    if (desired && (!newest || isNewer(desired, newest.desired))) newest = { host, desired };
  return newest;
}

const isNewer = (a: Desired, b: Desired) => a.at > b.at || (a.at === b.at && a.generation > b.generation);

/**
 * The hosts that lag their environment, each with why (pure): a host whose desired release is not the one the
 * environment was last given (a host down during a deploy, a new host), with the command that catches it up.
 */
export function lagging(env: string, hosts: { host: string; desired?: Desired }[]): Map<string, string> {
  const newest = environmentDesired(hosts);
  const behind = new Map<string, string>();
  for (const h of hosts) {
    if (!newest || h.desired?.release === newest.desired.release) continue;
    const here = h.desired ? `is at ${h.desired.release}` : 'has none';
    behind.set(
      h.host,
      `behind ${env}: ${newest.host} was given ${newest.desired.release} at ${newest.desired.at}, this host ${here} ` +
        `→ slipway sync ${env}`,
    );
  }
  return behind;
}
