// The static runtime: no process. Caddy's file_server serves `current/<static_dir>`
// and opens files through the link on every request, so switching `current`
// (an atomic rename) switches the site with no Caddy reload at all.
import { layout } from '../server/layout.ts';
import type { Runtime } from './runtime.ts';

export const staticRuntime: Runtime = {
  async configure() {
    return false;
  },
  async restart() {},
  async stop() {},
  async stopLater() {},
  async cancelStop() {},
  async status(host, cfg) {
    const link = await host.run(['readlink', layout(cfg.appDir).current], { reject: false });
    const release = link.stdout.trim().replace(/^.*\//, '') || undefined;
    return [{ state: release ? 'serving files' : 'nothing deployed', running: !!release, release }];
  },
  logsArgv(_cfg, { lines, follow, since }) {
    // Caddy's own log: the process serving the files
    return ['journalctl', '--unit', 'caddy-api.service', '--lines', String(lines), '--no-pager', '--output', 'short-iso', ...(since ? ['--since', since] : []), ...(follow ? ['--follow'] : [])];
  },
  execArgv(_cfg, command, { cwd, env = {} }) {
    return { argv: ['env', '-C', cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', command], sudo: false };
  },
};
