// The static runtime: no process. Caddy's file_server serves `current/<static_dir>`
// and opens files through the link on every request, so switching `current`
// (an atomic rename) switches the site with no Caddy reload at all.
import path from 'node:path';
import * as z from 'zod';
import { layout, sh, siteAccessLog } from '../server/layout.ts';
import PREFLIGHT from '../scripts/static-preflight.sh';
import LOGS from '../scripts/static-logs.sh';
import { linkedRelease } from '../server/release.ts';
import type { Runtime } from './runtime.ts';
import { ensureSite, type ProxiedConfig } from '../proxy/caddy.ts';
import { relativePath } from '../config/values.ts';

export const staticRuntime: Runtime = {
  packages: {},
  // its files are the app's folder and Caddy, which the agent watches for every app
  watch: () => ({ units: [], files: [] }),
  hasProcess: false,
  runsOnHost: false,
  needsProxy: 'runtime: static needs a proxy section (Caddy serves the files) → add `proxy:` with `port:` or `domain:`',
  filesServed: (cfg) => ({
    root: path.posix.join(layout(cfg.appDir).current, cfg.static_dir),
    spa: cfg.spa,
    immutable: cfg.immutable,
    accessLog: siteAccessLog(cfg.app),
  }),
  /** a site is switched as a whole: one without the page its health check asks for is never served */
  async preflight(host, cfg, releaseDir) {
    if (cfg.health.command) return undefined;
    // normalized as Caddy does: `/../x` is `/x`, inside the folder
    const page = path.posix.normalize(decoded(cfg.health.path.split(/[?#]/)[0]!));
    const dir = path.posix.join(releaseDir, cfg.static_dir);
    const r = await host.run(sh(PREFLIGHT, dir, page, cfg.spa ? 'spa' : ''), { reject: false });
    return r.exitCode === 0 ? undefined : r.stdout.trim() || `preflight failed (exit ${r.exitCode})`;
  },
  /** the site as slipway.yml has it now (spa, cache headers): Caddy's config is the static runtime's unit file */
  async configure(host, cfg) {
    return ensureSite(host, cfg as ProxiedConfig, staticRuntime.filesServed!(cfg));
  },
  appUser() {
    return undefined;
  },
  // the site's settings hold no release: the previous release is served right with the new ones
  async revertConfigure() {},
  async restart() {},
  async stop() {},
  async stopLater() {},
  async cancelStop() {},
  async status(host, cfg) {
    const release = await linkedRelease(host, layout(cfg.appDir).current);
    return [{ state: release ? 'serving files' : 'nothing deployed', running: !!release, release }];
  },
  logsArgv(cfg, { lines, follow, since }) {
    // the site's access log, written by Caddy, the process serving the files
    return { argv: sh(LOGS, siteAccessLog(cfg.app), String(lines), follow ? 'follow' : '', since ?? ''), sudo: true };
  },
  execArgv(_cfg, command, { cwd, env = {} }) {
    return {
      argv: ['env', '-C', cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', command],
      sudo: false,
    };
  },
};

/** A URL path Caddy matches: from the root, a `*` only at the end (everything below). */
const urlPattern = z
  .string()
  .regex(
    /^\/[A-Za-z0-9._~/-]*\*?$/,
    'a URL path from the root (e.g. /assets/*): letters, digits, . _ ~ / - and a final *',
  );

/** This runtime's own keys of slipway.yml. */
export const staticSettings = {
  static_dir: relativePath('folder')
    .default('.')
    .describe('With `runtime: static`: the folder of the release Caddy serves (e.g. `dist`).'),
  spa: z
    .boolean()
    .default(false)
    .describe(
      'With `runtime: static`: a single-page app; a path that is no file answers `/index.html` (client-side ' +
        'routes), except under `immutable` paths, where a missing file stays a 404.',
    ),
  immutable: z
    .array(urlPattern)
    .default(['/assets/*', '/static/*', '/_next/static/*', '/_app/immutable/*'])
    .describe(
      'With `runtime: static`: URL paths of content-hashed files (Vite `assets/`, Create React App `static/`, ' +
        'Next.js, SvelteKit), sent with `Cache-Control: public, max-age=31536000, immutable`; every other file, ' +
        '`index.html` first, with `no-cache`, so a deploy shows on the next visit.',
    ),
};

/** A URL path as the file name it names (%20 is a space); as written when it is not valid percent-encoding. */
function decoded(urlPath: string): string {
  try {
    return decodeURIComponent(urlPath);
  } catch {
    return urlPath;
  }
}
