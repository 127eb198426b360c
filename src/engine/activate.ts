// Going live, shared by deploy, rollback, restart and the automatic restore.
// One path, so a rollback is exactly a deploy of an older release without the
// transfer.
//
// Without a proxy: switch `current`, restart, check health.
// Behind Caddy (blue/green): start the release on the idle slot, check its
// health there, switch Caddy's upstream atomically, point `current` at it, and
// let the previous slot drain and stop after drain_timeout. A release that
// never becomes healthy is stopped and never receives traffic; a rollback
// while the previous slot still runs is only a switch back.
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError, tail } from '../errors.ts';
import { slotPort, type Slot } from '../proxy/caddy-config.ts';
import { isProxied, liveSlot, switchTo, type ProxiedConfig } from '../proxy/caddy.ts';
import { checkHealth, pointLink, pointLinkArgv, type HealthTarget } from '../server/release.ts';
import { andThen, sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { Session } from './session.ts';

export interface Activation {
  ok: boolean;
  /** the health check's report */
  report: string;
  /** traffic (or `current`) moved to the new release */
  switched: boolean;
}

export async function activate(
  s: Session,
  host: Host,
  id: string,
  onSwitch: () => void = () => undefined,
): Promise<Activation> {
  const { cfg, layout: l, runtime } = s.on(host);
  if (!isProxied(cfg) || !runtime.hasProcess) {
    // in place: switch `current`, restart (nothing to restart for files only), check;
    // in one round trip where the runtime restarts with one command
    onSwitch();
    const target = runtime.hasProcess ? { port: cfg.port } : liveTarget(cfg);
    const point = pointLinkArgv(l, 'current', id);
    const restart = runtime.restartArgv?.(cfg);
    let before: readonly string[] | undefined = point;
    if (restart) before = andThen(point, restart.sudo ? host.rootArgv(restart.argv) : restart.argv);
    else if (runtime.hasProcess) {
      await host.run(point);
      await runtime.restart(host, cfg);
      before = undefined;
    }
    const r = await checkHealth(host, cfg.health, target, l.release(id), before);
    return { ...r, switched: true };
  }
  const live = await liveSlot(host, cfg); // asks Caddy first: if it is down, nothing has changed yet
  const next: Slot = live === 'a' ? 'b' : 'a';
  const runsIt = async () => {
    const idle = (await runtime.status(host, cfg)).find((st) => st.slot === next);
    return !!idle?.running && idle.release === id;
  };
  let reuse = await runsIt();
  if (reuse) {
    await runtime.cancelStop(host, cfg, next);
    // its drain may have fired just before it was cancelled: then it is stopping, and must start again
    reuse = await runsIt();
  }
  if (!reuse) {
    await pointLink(host, l, `slots/${next}`, id);
    await runtime.restart(host, cfg, next);
  }
  const r = await checkHealth(host, cfg.health, { port: slotPort(cfg, next) }, l.release(id));
  if (!r.ok) {
    if (!reuse) await runtime.stop(host, cfg, next);
    return { ...r, switched: false };
  }
  onSwitch();
  await switchTo(host, cfg, slotPort(cfg, next));
  await pointLink(host, l, 'current', id);
  if (live) await runtime.stopLater(host, cfg, live, cfg.proxy.drain_timeout);
  return { ...r, switched: true };
}

/**
 * $PORT for commands run as the app (exec, hooks, checks): behind the proxy the live slot's, which changes with every
 * deploy.
 */
export async function servingPort(s: Session, host: Host): Promise<number> {
  const { cfg, runtime } = s.on(host);
  if (!isProxied(cfg) || !runtime.hasProcess) return cfg.port;
  const live = await liveSlot(host, cfg);
  return live ? slotPort(cfg, live) : cfg.port;
}

/**
 * Where the live app answers: through Caddy for a static site (as visitors see it), else its port. The live slot's
 * port behind Caddy is not fixed: go through Caddy there too.
 */
export function liveTarget(cfg: ResolvedConfig): HealthTarget {
  return isProxied(cfg) ? siteTarget(cfg) : { port: cfg.port };
}

/** A site checked through Caddy, as visitors see it. */
function siteTarget(cfg: ProxiedConfig): HealthTarget {
  const { domain, port } = cfg.proxy;
  return {
    port,
    site: domain
      ? { base: `https://${domain}`, resolve: `${domain}:443:127.0.0.1` }
      : { base: `http://127.0.0.1:${port}` },
  };
}

/** Put the previous release back (or, on a first deploy, stop the app and remove `current`). */
export async function restore(s: Session, host: Host, previous: string | undefined): Promise<string> {
  if (!previous) {
    await s.on(host).runtime.stop(host, s.on(host).cfg);
    await host.run(sh('rm -f "$1"', s.layout.current));
    return 'no previous release: app stopped';
  }
  const r = await activate(s, host, previous);
  return r.ok ? `${previous} is serving again` : `${previous} restored but failing its health check too: ${r.report}`;
}

/** The app's last log lines, for failure messages. */
export async function recentLogs(s: Session, host: Host, lines = 20): Promise<string> {
  const { cfg, runtime } = s.on(host);
  const { argv, sudo } = runtime.logsArgv(cfg, { lines, follow: false });
  const r = await host.run(argv, { reject: false, sudo });
  return tail(r.stdout || r.stderr, lines);
}

export function healthError(host: Host, id: string, a: Activation, logs: string, afterSwitch: string): SlipwayError {
  const outcome = a.switched ? afterSwitch : 'it never received traffic and was stopped';
  return new SlipwayError('health', `${host.name}: release ${id} failed its health check; ${outcome}`, {
    details: `health check: ${a.report}\n--- last app log lines ---\n${logs || '(no output)'}`,
    hint: 'fix the app (see the log above), commit, and deploy again; `slipway logs <env>` shows more',
  });
}
