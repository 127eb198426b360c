import type { ResolvedConfig } from '../config/load.ts';
import type { Runtime } from './runtime.ts';
import { supervisorRuntime } from './supervisor.ts';
import { systemdRuntime } from './systemd.ts';

export function runtimeFor(cfg: Pick<ResolvedConfig, 'runtime'>): Runtime {
  return cfg.runtime === 'systemd' ? systemdRuntime : supervisorRuntime;
}
