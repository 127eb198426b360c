// Release operations on a host, each one round trip running a constant
// script: prepare, finalize (shared links, REVISION), install with a cache,
// switch `current`, env file, health check, prune.
import { CommandError } from '../errors.ts';
import type { Host, RunResult } from '../transport/host.ts';
import { andThen, script, sh, type Layout } from './layout.ts';
import FINALIZE from '../scripts/release-finalize.sh';
import INSTALL from '../scripts/release-install.sh';
import POINT from '../scripts/release-point.sh';
import WRITE_SECRET_FILE from '../scripts/release-write-secret-file.sh';
import COMMAND_CHECK from '../scripts/release-command-check.sh';
import REMOVE from '../scripts/release-remove.sh';
import ENSURE_SHARED from '../scripts/release-ensure-shared.sh';
import HTTP_CHECK from '../scripts/release-http-check.sh';
import VERIFY_BODY from '../scripts/release-verify.sh';
import { PATH_COLUMN } from '../release/content.ts';

/**
 * Make the transferred release final: shared links, REVISION, its manifest stored, moved into releases/.
 * `replace`: the host's copy of the release has changed files (sync): it is moved to `changed/` for a look.
 */
export async function finalizeRelease(
  host: Host,
  l: Layout,
  id: string,
  digest: string,
  shared: { dirs: string[]; files: string[] },
  revision: string,
  replace = false,
): Promise<void> {
  const folders = [l.incoming, l.manifests, replace ? l.changed : '', l.staged];
  const argv = sh(FINALIZE, l.appDir, id, digest, ...folders, ...shared.dirs, '--files', ...shared.files);
  await host.run(argv, {
    input: `${revision}\n`,
  });
}

// $1 release folder, $2 its manifest file, $3 the manifest's digest: "intact", "changed" or "missing"
const VERIFY = script({ PATH_COLUMN }, VERIFY_BODY);

/** The release's files on the host against its manifest's digest: the check the agent and a promotion make. */
export async function releaseFilesOn(
  host: Host,
  l: Layout,
  id: string,
  manifestFile: string,
): Promise<'intact' | 'changed' | 'missing'> {
  const r = await host.run(sh(VERIFY, l.release(id), `${l.manifests}/${manifestFile}`, manifestFile.slice(-32)));
  const word = r.stdout.trim();
  return word === 'intact' || word === 'missing' ? word : 'changed';
}

/** Run the install command in the release, or hard-link its result from the cache when the key is known. */
export async function install(
  host: Host,
  l: Layout,
  release: string,
  step: { command: string; key: string; paths: string[]; timeout: number },
  onLine?: (line: string) => void,
): Promise<'cached' | 'ran'> {
  const { command, key, paths, timeout } = step;
  const r = await host.run(sh(INSTALL, release, l.installCache, key, command, String(timeout), ...paths), { onLine });
  return r.stdout.includes('install: reused cache') ? 'cached' : 'ran';
}

// $1 app dir, $2 release id, $3 link (current, slots/a …), $4 link target relative to the link's folder

/** The release a link (current, slots/a …) points at, or undefined when there is none. */
export async function linkedRelease(host: Host, link: string): Promise<string | undefined> {
  const r = await host.run(['readlink', link], { reject: false });
  return r.stdout.trim().replace(/^.*\//, '') || undefined;
}

/**
 * Point `current` (or a slot's link) at a release atomically: a new link renamed over the old one. The only switch
 * slipway has.
 */
export function pointLinkArgv(l: Layout, link: 'current' | `slots/${string}`, id: string): string[] {
  const target = link === 'current' ? `releases/${id}` : `../releases/${id}`;
  return sh(POINT, l.appDir, id, link, target);
}

export async function pointLink(host: Host, l: Layout, link: 'current' | `slots/${string}`, id: string): Promise<void> {
  await host.run(pointLinkArgv(l, link, id));
}

/** Write an env file (mode 0400, owned by `owner` or the login user); content travels on stdin, never in argv. */
export async function writeEnvFile(
  host: Host,
  file: string,
  content: string,
  owner: string | undefined,
): Promise<void> {
  await host.run(sh(WRITE_SECRET_FILE, file, owner ?? ''), { input: content, sudo: !!owner });
}

/** Env file content: KEY="value" lines that systemd and the supervisor both read. */
// Both checks poll every 20 ms for the first 25 attempts (an app is usually up
// within half a second), then every `interval`. A failed check exits HEALTH_FAILED.
// $6 (optional) host:port:address for curl --resolve, to reach a domain on this host

export interface HealthSpec {
  path: string;
  status: number;
  command?: string;
  timeout: number;
  interval: number;
  request_timeout: number;
}

/** Where an HTTP check goes: the app's port on loopback, or (static sites) Caddy's site. */
export interface HealthTarget {
  port: number;
  /** instead of http://127.0.0.1:<port>: the site's base URL, and a curl --resolve entry for a domain */
  site?: { base: string; resolve?: string };
  /** argv that succeeds, printing why, once the process manager has given up on the app: the check stops early */
  gaveUp?: readonly string[];
}

/** The health check as argv, polled on the host itself (the app listens on loopback). */
export function healthArgv(h: HealthSpec, target: HealthTarget, releaseDir: string): string[] {
  const total = String(Math.ceil(h.timeout));
  const gaveUp = target.gaveUp ?? [];
  if (h.command)
    return sh(COMMAND_CHECK, releaseDir, h.command, total, String(h.interval), String(target.port), ...gaveUp);
  const url = `${target.site?.base ?? `http://127.0.0.1:${target.port}`}${h.path}`;
  return sh(
    HTTP_CHECK,
    url,
    String(h.status),
    total,
    String(h.interval),
    String(h.request_timeout),
    target.site?.resolve ?? '',
    ...gaveUp,
  );
}

/** Exit status of a health check that ran and failed (anything else non-zero: the command itself failed). */
export const HEALTH_FAILED = 42;

/** Run the health check; `before` (switching and restarting) runs first in the same round trip. */
export async function checkHealth(
  host: Host,
  h: HealthSpec,
  target: HealthTarget,
  releaseDir: string,
  before?: readonly string[],
): Promise<{ ok: boolean; report: string }> {
  const argv = before ? andThen(before, healthArgv(h, target, releaseDir)) : healthArgv(h, target, releaseDir);
  return healthOutcome(host, argv, await host.run(argv, { reject: false }));
}

/** A health check's result; a failure of the command itself (or of a step chained before it) is thrown. */
function healthOutcome(host: Host, argv: readonly string[], r: RunResult): { ok: boolean; report: string } {
  if (r.exitCode !== 0 && r.exitCode !== HEALTH_FAILED)
    throw new CommandError(host.name, argv, r.exitCode, r.stdout, r.stderr);
  return { ok: r.exitCode === 0, report: r.stdout.trim() };
}

// $1 trash folder (new, unique); the rest: what to delete. Renamed into the trash at
// once, deleted in the background: pruning a large release costs a rename.

/** argv deleting releases with their stored manifests (moved to the trash at once, deleted in the background). */
export function removeReleasesArgv(l: Layout, ids: string[], manifests: Record<string, string>): string[] {
  const files = ids.flatMap((id) => (manifests[id] ? [`${l.manifests}/${manifests[id]}`] : []));
  return sh(REMOVE, `${l.meta}/trash/${Date.now()}`, ...ids.map((id) => l.release(id)), ...files);
}

/** Make the shared folders (owned by the service user when there is one). */
export async function ensureSharedDirs(
  host: Host,
  l: Layout,
  dirs: string[],
  owner: string | undefined,
): Promise<void> {
  if (dirs.length)
    await host.run(sh(ENSURE_SHARED, owner ?? '', ...dirs.map((d) => `${l.shared}/${d}`)), { sudo: !!owner });
}
