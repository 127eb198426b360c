// The static runtime: no process. Caddy's file_server serves `current/<static_dir>`
// and opens files through the link on every request, so switching `current`
// (an atomic rename) switches the site with no Caddy reload at all.
import path from 'node:path';
import { layout, sh } from '../server/layout.ts';
import PREFLIGHT from '../scripts/static-preflight.sh';
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
  /** a site is switched as a whole: one without the page its health check asks for is never served */
  async preflight(host, cfg, releaseDir) {
    if (cfg.health.command) return undefined;
    // normalized as Caddy does: `/../x` is `/x`, inside the folder
    const page = path.posix.normalize(decoded(cfg.health.path.split(/[?#]/)[0]!));
    const r = await host.run(sh(PREFLIGHT, path.posix.join(releaseDir, cfg.static_dir), page), { reject: false });
    return r.exitCode === 0 ? undefined : r.stdout.trim() || `preflight failed (exit ${r.exitCode})`;
  },
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

/** A URL path as the file name it names (%20 is a space); as written when it is not valid percent-encoding. */
function decoded(urlPath: string): string {
  try {
    return decodeURIComponent(urlPath);
  } catch {
    return urlPath;
  }
}
