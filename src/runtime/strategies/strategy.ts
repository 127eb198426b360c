// How a release goes live, apart from what runs it: in place (switch `current`, restart), or
// blue/green behind Caddy (start the idle slot, check it, switch the upstream, drain the old).
// A runtime that rolls out by itself (Swarm, Kubernetes) will bring a strategy of its own.
import type { ResolvedConfig } from '../../config/load.ts';
import type { Layout } from '../../server/layout.ts';
import type { Host } from '../../transport/host.ts';
import type { Runtime } from '../runtime.ts';

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
  /** make release `id` live; `onSwitch` is called just before traffic moves (from then on, a failure restores) */
  activate(r: HostRun, id: string, onSwitch: () => void): Promise<Activation>;
  /** the port of the instance that serves now */
  servingPort(r: HostRun): Promise<number>;
}
