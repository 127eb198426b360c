// The static runtime: no process. Caddy's file_server serves `current/<static_dir>`
// and opens files through the link on every request, so switching `current`
// (an atomic rename) switches the site with no Caddy reload at all.
import path from 'node:path';
import { layout } from '../server/layout.ts';
import { linkedRelease } from '../server/release.ts';
import type { Runtime } from './runtime.ts';
import { journalArgv } from './systemd.ts';
import { relativePath } from '../config/values.ts';

export const staticRuntime: Runtime = {
  packages: {},
  hasProcess: false,
  runsOnHost: false,
  needsProxy: 'runtime: static needs a proxy section (Caddy serves the files) → add `proxy:` with `port:` or `domain:`',
  filesServed: (cfg) => path.posix.join(layout(cfg.appDir).current, cfg.static_dir),
  async configure() {
    return false;
  },
  appUser() {
    return undefined;
  },
  async revertConfigure() {},
  async restart() {},
  async stop() {},
  async stopLater() {},
  async cancelStop() {},
  async status(host, cfg) {
    const release = await linkedRelease(host, layout(cfg.appDir).current);
    return [{ state: release ? 'serving files' : 'nothing deployed', running: !!release, release }];
  },
  logsArgv(_cfg, opts) {
    // Caddy's own log: the process serving the files
    return { argv: journalArgv('caddy-api.service', opts), sudo: true };
  },
  execArgv(_cfg, command, { cwd, env = {} }) {
    return {
      argv: ['env', '-C', cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', command],
      sudo: false,
    };
  },
};

/** This runtime's own keys of slipway.yml. */
export const staticSettings = {
  static_dir: relativePath('folder')
    .default('.')
    .describe('With `runtime: static`: the folder of the release Caddy serves (e.g. `dist`).'),
};
