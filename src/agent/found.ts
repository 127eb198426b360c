// From what `observe` saw (and what only the host can check: the release's files, the env file) to the facts
// reconcile decides on (pure, but for the two file checks at the end).
import { existsSync, readFileSync } from 'node:fs';
import type { Observed } from '../engine/observe.ts';
import type { Found } from '../engine/reconcile.ts';
import { hashCacheFile, hashFiles, parseManifest } from '../release/content.ts';
import type { Layout } from '../server/layout.ts';
import { isStale } from '../server/lock.ts';
import type { HostState } from '../server/state.ts';

/** The newest release before `desired` that went live (not failed, not bad); ids sort by time. */
export function previousHealthy(state: Pick<HostState, 'releases'>, desired: string): string | undefined {
  return state.releases
    .filter((r) => r.id < desired && r.status === 'ok')
    .map((r) => r.id)
    .sort()
    .pop();
}

export interface HostFacts {
  release: Found['release'];
  envFile: boolean;
  proxied: boolean;
  hasProcess: boolean;
  /** the token of the lock the agent holds itself (its own lock is no deploy) */
  ownLock?: string;
  heals: number[];
  now: number;
  /** the agent healed this app just before: a failing health check now counts against the release */
  afterHeal: boolean;
}

export function foundOf(o: Observed, x: HostFacts): Found {
  const d = o.state.desired;
  const lock = o.lock;
  return {
    ...(d ? { desired: { release: d.release, environment: d.environment } } : {}),
    deploying: !!lock && lock.token !== x.ownLock && !isStale(lock),
    release: x.release,
    ...(o.state.current ? { current: o.state.current } : {}),
    envFile: x.envFile,
    config: o.drift.config ? 'differs' : 'same',
    hasProcess: x.hasProcess,
    running: o.running,
    ...(x.proxied
      ? { proxy: { site: o.drift.site ? 'differs' : 'same', ...(o.routesTo ? { routesTo: o.routesTo } : {}) } }
      : {}),
    ...(x.afterHeal && o.check ? { healthy: o.check.ok } : {}),
    bad: o.state.releases.filter((r) => r.status === 'bad').map((r) => r.id),
    ...(d ? { previousHealthy: previousHealthy(o.state, d.release) } : {}),
    heals: x.heals,
    now: x.now,
  };
}

/** The release's files against the digest of its manifest; only files whose size, mtime or inode changed are read. */
export function releaseFiles(
  l: Layout,
  state: Pick<HostState, 'releases' | 'manifests'>,
  id: string,
): Found['release'] {
  if (!state.releases.some((r) => r.id === id)) return 'missing';
  const manifest = state.manifests[id];
  if (!manifest) return 'intact'; // written by an older slipway: nothing to compare with
  try {
    const files = [...parseManifest(readFileSync(`${l.manifests}/${manifest}`, 'utf8')).keys()];
    const dir = l.release(id);
    return hashFiles(dir, files, hashCacheFile(dir)).digest === manifest.slice(-32) ? 'intact' : 'changed';
  } catch {
    return 'changed'; // a file of the manifest is gone
  }
}

export function hasEnvFile(l: Layout): boolean {
  return existsSync(l.envFile);
}
