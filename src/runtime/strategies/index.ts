import type { ResolvedConfig } from '../../config/load.ts';
import { isProxied } from '../../proxy/caddy.ts';
import type { Runtime } from '../runtime.ts';
import { blueGreen } from './blue-green.ts';
import { inPlace } from './in-place.ts';
import { rolloutByEngine } from './rollout.ts';
import type { Strategy } from './strategy.ts';

/**
 * The engine's own rollout where the runtime has one; blue/green when a process runs behind Caddy; in place otherwise
 * (files only are switched in place too).
 */
export function strategyFor(cfg: ResolvedConfig, runtime: Runtime): Strategy {
  if (runtime.rollout) return rolloutByEngine;
  return isProxied(cfg) && runtime.hasProcess ? blueGreen : inPlace;
}
