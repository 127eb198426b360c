// Rolled out by the runtime's engine (Swarm, Kubernetes): slipway asks for the release, then follows the rollout.
// Behind Caddy (Swarm) it routes Caddy to this host's tasks that pass their health check as they come and go; Swarm
// starts the new task first and rolls a failing update back by itself, which is reported as a failed activation,
// never as a success, and the release must then pass slipway's own health check through Caddy, as visitors see it.
// An engine that routes by itself (an Ingress) has its readiness probes for the health check; a rollout it gives up
// on is a failed activation after the switch, so the engine's flow puts the previous release back.
import { type ProxiedConfig, routedUpstreams, routeTo, siteTarget } from '../../proxy/caddy.ts';
import { checkHealth, pointLink } from '../../server/release.ts';
import type { RolloutView } from '../runtime.ts';
import type { Strategy } from './strategy.ts';

export type RolloutStep = { do: 'wait' } | { do: 'done' } | { do: 'failed'; why: string };

/** Where a rollout of release `id` stands (pure). */
export function rolloutStep(v: RolloutView, id: string): RolloutStep {
  const update = v.update ?? '';
  // the engine took the spec back from `id`: its own rollback
  if (v.spec !== id && /^rollback|^paused/.test(update))
    return { do: 'failed', why: `Swarm rolled the update back (${update}${v.message ? `: ${v.message}` : ''})` };
  if (v.spec === id && /paused$/.test(update))
    return { do: 'failed', why: `the rollout stopped${v.message ? `: ${v.message}` : ''}` };
  const running = v.tasks.filter((t) => t.state === 'running');
  const settled = !/^updating|^rollback_started/.test(update);
  if (settled && running.length >= v.replicas && running.every((t) => t.release === id)) return { do: 'done' };
  return { do: 'wait' };
}

export const rolloutByEngine: Strategy = {
  name: 'rollout',
  async activate({ host, cfg, runtime, layout: l }, id, onSwitch, opts = {}) {
    const engine = runtime.rollout!;
    const proxied = cfg as ProxiedConfig;
    // an engine that routes by itself moves traffic as its pods pass: a failure from here on must put the previous back
    if (!engine.viaCaddy) onSwitch();
    await engine.start(host, cfg, id, opts.restart);
    const began = Date.now();
    let switched = !engine.viaCaddy;
    let budget = followSeconds(cfg.health.timeout, 1);
    for (;;) {
      const v = await engine.look(host, cfg);
      const serving = v.tasks.filter((t) => t.state === 'running' && t.dial);
      if (!switched && serving.some((t) => t.release === id)) {
        onSwitch();
        switched = true;
      }
      if (serving.length)
        await routeTo(
          host,
          proxied,
          serving.map((t) => t.dial!),
        );
      const step = rolloutStep(v, id);
      budget = followSeconds(cfg.health.timeout, v.replicas);
      if (step.do === 'failed') return { ok: false, report: step.why, switched };
      if (step.do === 'done') break;
      if (Date.now() - began > budget * 1000)
        return { ok: false, report: `the rollout did not end within ${budget} s`, switched };
      await new Promise((r) => setTimeout(r, 250));
    }
    const health = engine.viaCaddy
      ? await checkHealth(host, cfg.health, siteTarget(proxied), l.release(id))
      : { ok: true, report: 'every pod is ready' };
    if (health.ok) await pointLink(host, l, 'current', id);
    return { ...health, switched: true };
  },
  async routedRelease({ host, cfg, runtime }) {
    if (!runtime.rollout!.viaCaddy) return undefined;
    const [v, routed] = await Promise.all([
      runtime.rollout!.look(host, cfg),
      routedUpstreams(host, cfg as ProxiedConfig),
    ]);
    const at = new Map(v.tasks.filter((t) => t.state === 'running' && t.dial).map((t) => [t.dial, t.release]));
    const releases = new Set((routed ?? []).map((d) => at.get(d)));
    return releases.size === 1 ? [...releases][0] : undefined;
  },
  async checkLive({ host, cfg, runtime }) {
    if (runtime.rollout!.viaCaddy) return undefined;
    const v = await runtime.rollout!.look(host, cfg);
    const ready = v.tasks.filter((t) => t.state === 'running').length;
    const report = `${ready} of ${v.replicas} ready`;
    return { ok: v.replicas > 0 && ready >= v.replicas, report };
  },
  servingPort: async ({ cfg }) => cfg.port,
};

/** How long a rollout may take: each task's start and health budget, and Swarm's watch after it. */
function followSeconds(healthTimeout: number, tasks: number): number {
  return Math.ceil(healthTimeout * 2 + 30) * Math.max(1, tasks);
}
