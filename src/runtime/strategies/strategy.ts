// How a release goes live, apart from what runs it: in place (switch `current`, restart), or
// blue/green behind Caddy (start the idle slot, check it, switch the upstream, drain the old).
// or rolled out by the runtime's engine (Swarm), followed by slipway.
import type { ResolvedConfig } from '../../config/load.ts';
import type { Layout } from '../../server/layout.ts';
import type { Host } from '../../transport/host.ts';
import type { Runtime } from '../runtime.ts';
import type { Slot } from '../slots.ts';

/** One host as a strategy sees it: what runs the app there, its config and its folders. */
export interface HostRun {
  host: Host;
  cfg: ResolvedConfig;
  runtime: Runtime;
  layout: Layout;
}

export interface Activation {
  ok: boolean;
  /** the health check's report */
  report: string;
  /** traffic (or `current`) moved to the new release */
  switched: boolean;
  /** refused before anything started or switched (the runtime's preflight) */
  refused?: boolean;
}

export interface Strategy {
  name: string;
  /**
   * make release `id` live; `onSwitch` is called just before traffic moves (from then on, a failure restores);
   * `restart`: `id` runs already, and its instances are to be started anew
   */
  activate(r: HostRun, id: string, onSwitch: () => void, opts?: { restart?: boolean }): Promise<Activation>;
  /** behind the proxy: the slot Caddy routes to, where the strategy has slots */
  liveSlot?(r: HostRun): Promise<Slot | undefined>;
  /** without slots: the release of the instances Caddy routes to (undefined: none, or not all of one release) */
  routedRelease?(r: HostRun): Promise<string | undefined>;
  /** the live release's health, where it is not a check as visitors reach it (an engine's readiness) */
  checkLive?(r: HostRun): Promise<{ ok: boolean; report: string } | undefined>;
  /** the port of the instance that serves now */
  servingPort(r: HostRun): Promise<number>;
}
