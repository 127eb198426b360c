// Blue/green slots: behind Caddy an app runs in two slots, a and b, on ports `port` and
// `port + 1`; Caddy only knows which port it sends traffic to.
import type { ResolvedConfig } from '../config/load.ts';
import { liveUpstreamPort, type ProxiedConfig } from '../proxy/caddy.ts';
import type { Host } from '../transport/host.ts';

export type Slot = 'a' | 'b';
export const SLOTS: readonly Slot[] = ['a', 'b'];

export function slotPort(cfg: Pick<ResolvedConfig, 'port'>, slot: Slot): number {
  return slot === 'a' ? cfg.port : cfg.port + 1;
}

export function slotOfPort(cfg: Pick<ResolvedConfig, 'port'>, port: number): Slot | undefined {
  return SLOTS.find((s) => slotPort(cfg, s) === port);
}

/** The slot Caddy sends the app's traffic to. */
export async function liveSlot(host: Host, cfg: ProxiedConfig): Promise<Slot | undefined> {
  const port = await liveUpstreamPort(host, cfg);
  return port === undefined ? undefined : slotOfPort(cfg, port);
}
