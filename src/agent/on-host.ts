// What a deploy made on the host itself (the agent's pull, a git push hook) needs that a laptop brings: the secrets,
// from the env file the last deploy wrote, and a lock lease long enough for the deploy.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ResolvedConfig } from '../config/load.ts';
import { hostEnvironment } from '../engine/deploy.ts';
import { parseEnvFile } from '../server/env-file.ts';
import { layout } from '../server/layout.ts';

/** The env file's text: read as root (the agent), or through `sudo -n` (it is the service user's, 0400). */
function readEnvFileText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    return execFileSync('sudo', ['-n', 'cat', '--', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  }
}

/** The env file the last deploy from a laptop wrote, its secrets included (checked before anything is done). */
export function hostEnvFile(cfg: ResolvedConfig): Record<string, string> {
  let vars: Record<string, string> = {};
  try {
    vars = parseEnvFile(readEnvFileText(layout(cfg.appDir).envFile));
  } catch {
    /* none yet: the secrets check says what is missing */
  }
  hostEnvironment(cfg, vars);
  return vars;
}

/** Long enough for the slowest deploy (an approval's wait included): past it, a dead deployer's lock is stale. */
export function deployLeaseMs(cfg: ResolvedConfig): number {
  const approval = cfg.approval.required || cfg.pull?.approval ? cfg.approval.timeout : 0;
  return (600 + approval + 2 * (cfg.health.timeout + cfg.stop_timeout)) * 1000;
}
