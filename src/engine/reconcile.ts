// What to do about a host that does not run what it should (pure): the agent observes, asks this, and acts.
// Each drift kind maps to the least action that heals it, in the order that makes the next one meaningful
// (the files before the link, the config before the restart, the process before the route). What the host
// cannot heal alone is fetched from a peer or reported with the command that fixes it; a heal that does not
// make the desired release healthy restores the previous healthy one and marks the desired one bad.

/** What the agent found for one app on its host. */
export interface Found {
  /** what desired.json says (undefined: nothing deployed yet, nothing to converge to) */
  desired?: { release: string; environment: string };
  /** a deploy, rollback or sync holds the lock (not the agent's own) */
  deploying: boolean;
  /** the desired release's folder: its files against its manifest digest */
  release: 'intact' | 'changed' | 'missing';
  /** what `current` points at */
  current?: string;
  /** the env file is there (it holds secrets only a deploy can write) */
  envFile: boolean;
  /** the unit, supervisor config or container against the spec */
  config: 'same' | 'differs' | 'missing';
  /** the runtime runs a process (not files only) */
  hasProcess: boolean;
  /** the instance that should serve is up */
  running: boolean;
  /** behind Caddy: the site is as slipway writes it, and the release it routes to (undefined: not proxied) */
  proxy?: { site: 'same' | 'differs' | 'missing'; routesTo?: string };
  /** the health check, once the rest is in place (undefined: not run) */
  healthy?: boolean;
  /** releases marked bad: never healed back to */
  bad: string[];
  /** the newest earlier release on the host that went live and is not bad */
  previousHealthy?: string;
  /** when this app was healed before (ms), and now */
  heals: number[];
  now: number;
}

export type Action =
  | { do: 'wait'; why: string }
  | { do: 'fetch-release'; release: string; why: string }
  | { do: 'rewrite-config'; why: string }
  | { do: 'point-current'; release: string; why: string }
  | { do: 'restart'; why: string }
  | { do: 'rewrite-site'; why: string }
  | { do: 'route'; release: string; why: string }
  | { do: 'restore-previous'; release: string; markBad: string; why: string }
  /** `halt`: healing is stopped (flapping) until the next deploy, sync or resume */
  | { do: 'report'; why: string; fix: string; halt?: boolean };

/** More than this many heals of one app in the window: stop healing it and say so. */
export const FLAP = { heals: 5, windowMs: 300_000 };

/** Seconds to wait before heal attempt `n` (0-based) of the same drift: 2 s, ×3, at most 300 s. */
export function backoff(n: number): number {
  return Math.min(2 * 3 ** n, 300);
}

/** The actions that bring the host to its desired state, in order; [] when it is there (pure). */
export function reconcile(f: Found): Action[] {
  const d = f.desired;
  if (!d) return [];
  if (f.deploying) return [{ do: 'wait', why: 'a deploy holds the lock' }];
  const heal = healing(f, d);
  // an app healed too often is left alone, once it needs healing again
  const recent = f.heals.filter((t) => f.now - t < FLAP.windowMs).length;
  if (recent > FLAP.heals && heal.some((a) => a.do !== 'report'))
    return [
      {
        do: 'report',
        why: `healed ${recent} times in ${FLAP.windowMs / 60_000} minutes: healing stopped`,
        fix: `find the cause (slipway logs ${d.environment}), then slipway sync ${d.environment}`,
        halt: true,
      },
    ];
  return heal;
}

/** What heals the host, the flap limit aside. */
function healing(f: Found, d: NonNullable<Found['desired']>): Action[] {
  if (!f.envFile)
    return [
      {
        do: 'report',
        why: 'the env file is missing (it holds secrets only a deploy can write)',
        fix: `slipway deploy ${d.environment}`,
      },
    ];
  const actions: Action[] = [];
  if (f.release !== 'intact')
    actions.push({ do: 'fetch-release', release: d.release, why: `release ${d.release} is ${f.release} on the host` });
  if (f.config !== 'same') actions.push({ do: 'rewrite-config', why: `the runtime config ${driftWord[f.config]}` });
  if (f.current !== d.release)
    actions.push({
      do: 'point-current',
      release: d.release,
      why: `current points at ${f.current ?? 'nothing'}, desired ${d.release}`,
    });
  const reconfigured = actions.some((a) => a.do === 'rewrite-config' || a.do === 'point-current');
  if (f.hasProcess && (!f.running || reconfigured))
    actions.push({ do: 'restart', why: f.running ? 'to run the healed config' : 'the app is not running' });
  if (f.proxy && f.proxy.site !== 'same')
    actions.push({ do: 'rewrite-site', why: `Caddy's site ${driftWord[f.proxy.site]}` });
  if (f.proxy && f.hasProcess && f.proxy.routesTo !== d.release)
    actions.push({
      do: 'route',
      release: d.release,
      why: `Caddy routes to ${f.proxy.routesTo ?? 'nothing'}, desired ${d.release}`,
    });
  if (actions.length || f.healthy !== false) return actions;
  return [whenUnhealthy(f, d.release)];
}

/** Everything is in place (or a heal put it there) and the desired release still fails its health check. */
export function whenUnhealthy(f: Pick<Found, 'previousHealthy' | 'bad'>, release: string): Action {
  if (f.previousHealthy && !f.bad.includes(f.previousHealthy))
    return {
      do: 'restore-previous',
      release: f.previousHealthy,
      markBad: release,
      why: `release ${release} fails its health check with everything in place`,
    };
  return {
    do: 'report',
    why: `release ${release} fails its health check and no earlier healthy release is on the host`,
    fix: 'fix the app, then slipway deploy',
  };
}

const driftWord = { differs: 'was changed', missing: 'is missing', same: 'is as written' } as const;
