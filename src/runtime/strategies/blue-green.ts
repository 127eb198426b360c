// Blue/green behind Caddy: start the release on the idle slot, check its health there, switch
// Caddy's upstream atomically, point `current` at it, and let the previous slot drain and stop
// after drain_timeout. A release that never becomes healthy is stopped and never receives
// traffic; a rollback while the previous slot still runs is only a switch back.
import { type ProxiedConfig, switchTo } from '../../proxy/caddy.ts';
import { checkHealth, pointLink } from '../../server/release.ts';
import { liveSlot, type Slot, slotPort } from '../slots.ts';
import type { HostRun, Strategy } from './strategy.ts';

export const blueGreen: Strategy = {
  name: 'blue-green',
  async activate(r, id, onSwitch) {
    const { host, runtime, layout: l } = r;
    const cfg = r.cfg as ProxiedConfig;
    const live = await liveSlot(host, cfg); // asks Caddy first: if it is down, nothing has changed yet
    const next: Slot = live === 'a' ? 'b' : 'a';
    const reuse = await reuseIdle(r, next, id);
    if (!reuse) {
      await pointLink(host, l, `slots/${next}`, id);
      await runtime.restart(host, cfg, next);
    }
    const target = { port: slotPort(cfg, next), gaveUp: runtime.gaveUpArgv?.(cfg, next) };
    const health = await checkHealth(host, cfg.health, target, l.release(id));
    if (!health.ok) {
      if (!reuse) await runtime.stop(host, cfg, next);
      return { ...health, switched: false };
    }
    onSwitch();
    await switchTo(host, cfg, slotPort(cfg, next));
    await pointLink(host, l, 'current', id);
    if (live) await runtime.stopLater(host, cfg, live, cfg.proxy.drain_timeout);
    return { ...health, switched: true };
  },
  liveSlot: ({ host, cfg }) => liveSlot(host, cfg as ProxiedConfig),
  async servingPort({ host, cfg }) {
    const live = await liveSlot(host, cfg as ProxiedConfig);
    return live ? slotPort(cfg, live) : cfg.port;
  },
};

/** The idle slot still runs release `id` (a rollback within the drain): keep it, cancelling its drain. */
async function reuseIdle({ host, cfg, runtime }: HostRun, next: Slot, id: string): Promise<boolean> {
  const runsIt = async () => {
    const idle = (await runtime.status(host, cfg)).find((st) => st.slot === next);
    return !!idle?.running && idle.release === id;
  };
  if (!(await runsIt())) return false;
  await runtime.cancelStop(host, cfg, next);
  // its drain may have fired just before it was cancelled: then it is stopping, and must start again
  return runsIt();
}
