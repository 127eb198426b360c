// Going live, shared by deploy, rollback, restart and the automatic restore: one path, so a
// rollback is exactly a deploy of an older release without the transfer. How a release goes
// live (in place, or blue/green behind Caddy) is the runtime's strategy.
import { SlipwayError, tail } from '../errors.ts';
import { strategyFor } from '../runtime/strategies/index.ts';
import type { Activation } from '../runtime/strategies/strategy.ts';
import { sh } from '../server/layout.ts';
import { checkHealth } from '../server/release.ts';
import { liveTarget } from '../proxy/caddy.ts';
import type { Host } from '../transport/host.ts';
import type { Session } from './session.ts';

export type { Activation };

/** Make release `id` live on one host, the way its runtime goes live (src/runtime/strategies). */
export async function activate(
  s: Session,
  host: Host,
  id: string,
  onSwitch: () => void = () => undefined,
  opts: { restart?: boolean } = {},
): Promise<Activation> {
  const { cfg, layout, runtime } = s.on(host);
  return strategyFor(cfg, runtime).activate({ host, cfg, layout, runtime }, id, onSwitch, opts);
}

/** The port of the instance that serves now ($PORT for hooks and checks): behind the proxy, the live slot's. */
export async function servingPort(s: Session, host: Host): Promise<number> {
  const { cfg, layout, runtime } = s.on(host);
  return strategyFor(cfg, runtime).servingPort({ host, cfg, layout, runtime });
}

/**
 * The live release's health as visitors reach it (through Caddy, or on the app's port), `health` as given; an engine
 * that routes traffic itself answers with its readiness instead.
 */
export async function checkLive(
  s: Session,
  host: Host,
  id: string,
  health: Session['cfg']['health'],
): Promise<{ ok: boolean; report: string }> {
  const { cfg, layout, runtime } = s.on(host);
  const own = await strategyFor(cfg, runtime).checkLive?.({ host, cfg, layout, runtime });
  return own ?? checkHealth(host, health, liveTarget(cfg), layout.release(id));
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
  const outcome = a.switched
    ? afterSwitch
    : a.refused
      ? 'it was never made live'
      : 'it never received traffic and was stopped';
  return new SlipwayError('health', `${host.name}: release ${id} failed its health check; ${outcome}`, {
    details: `health check: ${a.report}\n--- last app log lines ---\n${logs || '(no output)'}`,
    hint: 'fix the app (see the log above), commit, and deploy again; `slipway logs <env>` shows more',
  });
}
