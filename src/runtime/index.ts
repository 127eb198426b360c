import type { ResolvedConfig } from '../config/load.ts';
import type { Runtime } from './runtime.ts';
import { dockerRuntime, dockerSettings } from './docker.ts';
import { staticRuntime, staticSettings } from './static.ts';
import { supervisorRuntime, supervisorSettings } from './supervisor.ts';
import { systemdRuntime } from './systemd.ts';
import { swarmRuntime, swarmSettings } from './swarm.ts';
import { kubernetesRuntime, kubernetesSettings } from './kubernetes.ts';

/** The runtimes `runtime:` can name. Adding one: its module, and a line here, in RUNTIMES and in RUNTIME_SETTINGS. */
export const RUNTIME_KINDS = ['systemd', 'supervisor', 'static', 'docker', 'swarm', 'kubernetes'] as const;

/** Each runtime's own keys of slipway.yml, merged into the settings schema. */
export const RUNTIME_SETTINGS = {
  ...dockerSettings,
  ...staticSettings,
  ...supervisorSettings,
  ...swarmSettings,
  ...kubernetesSettings,
};

const RUNTIMES: Record<(typeof RUNTIME_KINDS)[number], Runtime> = {
  systemd: systemdRuntime,
  supervisor: supervisorRuntime,
  static: staticRuntime,
  docker: dockerRuntime,
  swarm: swarmRuntime,
  kubernetes: kubernetesRuntime,
};

export function runtimeFor(cfg: Pick<ResolvedConfig, 'runtime'>): Runtime {
  return RUNTIMES[cfg.runtime];
}
