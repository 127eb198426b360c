// The one status query: what each host should run (desired.json) against what is there, as
// sync (Synced / OutOfSync / Unknown) and health (Healthy / Progressing / Degraded / Missing /
// Unknown), each with the reasons. `status`, and later the agent and the dashboard, ask this.
import { isProxied, NoSiteError, siteDrift } from '../proxy/caddy.ts';
import { checkLive } from './activate.ts';
import type { Slot } from '../runtime/slots.ts';
import { strategyFor } from '../runtime/strategies/index.ts';
import type { RuntimeStatus } from '../runtime/runtime.ts';
import { observeSync, type Sync } from '../server/desired.ts';
import { type LockInfo, readLock } from '../server/lock.ts';
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
  /** behind the proxy: the release of what Caddy routes to (the live slot's, or the tasks') */
  routesTo?: string;
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
  /** the health check's outcome and how long it took (undefined: not run, the app being down or Caddy not answering) */
  check?: { ok: boolean; report: string; ms?: number };
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
  const strategy = strategyFor(cfg, runtime);
  // Caddy down is one problem, however many questions it leaves unanswered
  const told = new Set<string>();
  const onProblem = (e: Error) => {
    if (!told.has(e.message)) onError(e);
    told.add(e.message);
  };
  // a site Caddy lost routes nowhere: that shows as the site's drift, not as a question left unanswered
  const live = strategy.liveSlot
    ? await strategy
        .liveSlot({ host: h, cfg, runtime, layout: l })
        .catch((e: Error) => void (e instanceof NoSiteError || onProblem(e)))
    : undefined;
  const [lock, state, instances] = await Promise.all([readLock(h, l), readState(h, l), runtime.status(h, cfg)]);
  const serving = instances.find((st) => st.slot && st.slot === live)?.release ?? state.current;
  // the instance that serves: the live slot's behind the proxy, else the single one
  const running = !!(live ? instances.find((st) => st.slot === live) : instances[0])?.running;
  // a stopped app is Degraded without waiting for a health check to time out
  const check = serving && (running || !runtime.hasProcess) ? await timedCheck(s, h, serving, onProblem) : undefined;
  const routesTo = live
    ? serving
    : await strategy.routedRelease?.({ host: h, cfg, runtime, layout: l }).catch((e: Error) => void onProblem(e));
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
    ...(routesTo ? { routesTo } : {}),
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

/** The live release's health check, shortened to 5 s, and how long it took. */
async function timedCheck(s: Session, h: Host, id: string, onProblem: (e: Error) => void): Promise<Observed['check']> {
  const began = performance.now();
  const { health } = s.on(h).cfg;
  const checked = await checkLive(s, h, id, { ...health, timeout: Math.min(health.timeout, 5) }).catch(
    (e: Error) => void onProblem(e),
  );
  return checked ? { ...checked, ms: Math.round(performance.now() - began) } : undefined;
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
