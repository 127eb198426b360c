// The one status query: what each host should run (desired.json) against what is there, as
// sync (Synced / OutOfSync / Unknown) and health (Healthy / Progressing / Degraded / Missing /
// Unknown), each with the reasons. `status`, and later the agent and the dashboard, ask this.
import { isProxied, liveTarget, NoSiteError, siteDrift } from '../proxy/caddy.ts';
import { liveSlot, type Slot } from '../runtime/slots.ts';
import type { RuntimeStatus } from '../runtime/runtime.ts';
import { observeSync, type Sync } from '../server/desired.ts';
import { type LockInfo, readLock } from '../server/lock.ts';
import { checkHealth } from '../server/release.ts';
import { type HostState, readState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import type { Session } from './session.ts';

export type Health = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown';

export interface Observed {
  host: string;
  instances: RuntimeStatus[];
  /** behind the proxy: the slot Caddy routes to (undefined when Caddy cannot be asked) */
  live?: Slot;
  lock?: Partial<LockInfo>;
  /** the release that serves: the live slot's behind the proxy, else `current` */
  serving?: string;
  desired?: string;
  sync: Sync;
  reasons: string[];
  health: Health;
  healthReasons: string[];
  /** what the state read found (releases, history, desired.json), for the agent's decisions */
  state: HostState;
  /** the runtime's config and Caddy's site where they are not as slipway writes them */
  drift: { config?: string; site?: string };
  /** the instance that should serve runs */
  running: boolean;
  /** the health check's outcome (undefined: not run, the app being down or Caddy not answering) */
  check?: { ok: boolean; report: string };
}

/** How a host's app is doing (pure): from what serves, whether it runs, a deploy under way and its health check. */
export function healthOf(o: {
  serving?: string;
  running: boolean;
  hasProcess: boolean;
  deploying: boolean;
  check?: { ok: boolean; report: string };
}): { health: Health; reasons: string[] } {
  if (o.deploying) return { health: 'Progressing', reasons: ['a deploy holds the lock'] };
  if (!o.serving) return { health: 'Missing', reasons: ['nothing is deployed'] };
  if (o.hasProcess && !o.running) return { health: 'Degraded', reasons: ['the app is not running'] };
  if (!o.check) return { health: 'Unknown', reasons: ['the health check could not run'] };
  return o.check.ok
    ? { health: 'Healthy', reasons: [] }
    : { health: 'Degraded', reasons: [`health check: ${o.check.report}`] };
}

/** Observe one host; `onProblem` hears what could not be asked (Caddy down), which then shows as Unknown. */
export async function observe(s: Session, h: Host, onError: (e: Error) => void): Promise<Observed> {
  const { cfg, runtime, layout: l } = s.on(h);
  // Caddy down is one problem, however many questions it leaves unanswered
  const told = new Set<string>();
  const onProblem = (e: Error) => {
    if (!told.has(e.message)) onError(e);
    told.add(e.message);
  };
  // a site Caddy lost routes nowhere: that shows as the site's drift, not as a question left unanswered
  const live =
    isProxied(cfg) && runtime.hasProcess
      ? await liveSlot(h, cfg).catch((e: Error) => void (e instanceof NoSiteError || onProblem(e)))
      : undefined;
  const [lock, state, instances] = await Promise.all([readLock(h, l), readState(h, l), runtime.status(h, cfg)]);
  const serving = instances.find((st) => st.slot && st.slot === live)?.release ?? state.current;
  // the instance that serves: the live slot's behind the proxy, else the single one
  const running = !!(live ? instances.find((st) => st.slot === live) : instances[0])?.running;
  // a stopped app is Degraded without waiting for a health check to time out
  const check =
    serving && (running || !runtime.hasProcess)
      ? await checkHealth(
          h,
          { ...cfg.health, timeout: Math.min(cfg.health.timeout, 5) },
          liveTarget(cfg),
          l.release(serving),
        ).catch((e: Error) => void onProblem(e))
      : undefined;
  const drift = await configDrift(s, h, onProblem);
  const { health, reasons: healthReasons } = healthOf({
    serving,
    running,
    hasProcess: runtime.hasProcess,
    deploying: !!lock,
    check: check ?? undefined,
  });
  return {
    host: h.name,
    instances,
    live,
    lock,
    serving,
    desired: state.desired?.release,
    ...observeSync(
      state,
      serving,
      [drift.config, drift.site].filter((x): x is string => !!x),
    ),
    health,
    healthReasons,
    state,
    drift,
    running,
    ...(check ? { check } : {}),
  };
}

/** What slipway wrote on the host (the runtime's config, Caddy's site) and is no longer as written. */
async function configDrift(
  s: Session,
  h: Host,
  onProblem: (e: Error) => void,
): Promise<{ config?: string; site?: string }> {
  const { cfg, runtime } = s.on(h);
  const [config, site] = await Promise.all([
    runtime.configDrift?.(h, cfg),
    isProxied(cfg) ? siteDrift(h, cfg, runtime.filesServed?.(cfg)).catch((e: Error) => void onProblem(e)) : undefined,
  ]);
  return { ...(config ? { config } : {}), ...(site ? { site } : {}) };
}
