// In place: switch `current`, restart (nothing to restart for files only), check health; in
// one round trip where the runtime restarts with one command.
import { liveTarget } from '../../proxy/caddy.ts';
import { andThen } from '../../server/layout.ts';
import { checkHealth, pointLinkArgv } from '../../server/release.ts';
import type { Strategy } from './strategy.ts';

export const inPlace: Strategy = {
  name: 'in-place',
  async activate({ host, cfg, runtime, layout: l }, id, onSwitch) {
    const unfit = await runtime.preflight?.(host, cfg, l.release(id));
    if (unfit) return { ok: false, report: unfit, switched: false, refused: true };
    onSwitch();
    // files only: checked through Caddy, as visitors see them
    const target = runtime.hasProcess ? { port: cfg.port, gaveUp: runtime.gaveUpArgv?.(cfg) } : liveTarget(cfg);
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
  },
  servingPort: async ({ cfg }) => cfg.port,
};
