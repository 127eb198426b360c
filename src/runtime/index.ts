import type { ResolvedConfig } from '../config/load.ts';
import type { Runtime } from './runtime.ts';
import { dockerRuntime } from './docker.ts';
import { staticRuntime } from './static.ts';
import { supervisorRuntime } from './supervisor.ts';
import { systemdRuntime } from './systemd.ts';

const RUNTIMES: Record<ResolvedConfig['runtime'], Runtime> = {
  systemd: systemdRuntime,
  supervisor: supervisorRuntime,
  static: staticRuntime,
  docker: dockerRuntime,
};

export function runtimeFor(cfg: Pick<ResolvedConfig, 'runtime'>): Runtime {
  return RUNTIMES[cfg.runtime];
}
