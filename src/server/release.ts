// Release operations on a host, each one round trip running a constant
// script: prepare, finalize (shared links, REVISION), install with a cache,
// switch `current`, env file, health check, prune.
import { CommandError } from '../errors.ts';
import type { Host, RunResult } from '../transport/host.ts';
import { andThen, sh, type Layout } from './layout.ts';

const FINALIZE = `set -eu
app=$1 id=$2 digest=$3 incoming=$4 manifests=$5; shift 5
inc="$incoming/$id"; kind=dir
for p in "$@"; do
  if [ "$p" = "--files" ]; then kind=file; continue; fi
  if [ $kind = file ] && [ ! -e "$app/shared/$p" ]; then
    echo "shared file $app/shared/$p does not exist: create it on the host (or remove it from shared.files)" >&2; exit 3
  fi
  rm -rf "$inc/$p"; mkdir -p "$(dirname "$inc/$p")"; ln -s "$app/shared/$p" "$inc/$p"
done
rm -f "$inc/REVISION"; cat > "$inc/REVISION"
mv -f "$inc.delta/manifest" "$manifests/$id.$digest"
mv -T "$inc" "$app/releases/$id"
rm -rf "$inc.delta"`;

/** Make the transferred release final: shared links, REVISION, its manifest stored, moved into releases/. */
export async function finalizeRelease(
  host: Host,
  l: Layout,
  id: string,
  digest: string,
  shared: { dirs: string[]; files: string[] },
  revision: string,
): Promise<void> {
  const argv = sh(FINALIZE, l.appDir, id, digest, l.incoming, l.manifests, ...shared.dirs, '--files', ...shared.files);
  await host.run(argv, {
    input: `${revision}\n`,
  });
}

const INSTALL = `set -eu
rel=$1 cache=$2 key=$3 cmd=$4 limit=$5; shift 5
if [ -n "$key" ] && [ -d "$cache/$key" ]; then
  for p; do
    if [ -e "$cache/$key/$p" ]; then
      rm -rf "$rel/$p"; mkdir -p "$(dirname "$rel/$p")"; cp -al "$cache/$key/$p" "$rel/$p"
    fi
  done
  echo "install: reused cache $key"; exit 0
fi
code=0; (cd "$rel" && timeout -k 10 "$limit" sh -c "$cmd") || code=$?
if [ "$code" = 124 ] || [ "$code" = 137 ]; then echo "install: stopped after $limit s: $cmd" >&2; exit 124; fi
[ "$code" = 0 ] || exit "$code"
if [ -n "$key" ]; then
  mkdir -p "$cache"; tmp="$cache/.tmp.$key.$$"; rm -rf "$tmp"; mkdir "$tmp"
  for p; do if [ -e "$rel/$p" ]; then mkdir -p "$(dirname "$tmp/$p")"; cp -al "$rel/$p" "$tmp/$p"; fi; done
  mv -T "$tmp" "$cache/$key" 2>/dev/null || rm -rf "$tmp"
  ls -1t "$cache" | tail -n +4 | while read -r old; do rm -rf "$cache/$old"; done
fi
echo "install: ran $cmd"`;

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
const POINT = `set -e
cd "$1"; [ -d "releases/$2" ]
mkdir -p "$(dirname "$3")"
ln -sfn "$4" "$3.tmp.$$"
mv -T "$3.tmp.$$" "$3"`;

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

const WRITE_SECRET_FILE = `set -e
umask 077; tmp="$1.tmp.$$"
cat > "$tmp"
if [ -n "$2" ]; then chown "$2:$2" "$tmp"; fi
chmod 0400 "$tmp"; mv -f "$tmp" "$1"`;

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
export function envFileContent(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (/[\n\r\0]/.test(v)) throw new Error(`environment variable ${k}: values cannot contain line breaks`);
      return `${k}="${v.replace(/[\\"$`]/g, (c) => `\\${c}`)}"\n`;
    })
    .join('');
}

// Both checks poll every 20 ms for the first 25 attempts (an app is usually up
// within half a second), then every `interval`. A failed check exits HEALTH_FAILED.
// $6 (optional) host:port:address for curl --resolve, to reach a domain on this host
const HTTP_CHECK = `url=$1 expect=$2 total=$3 interval=$4 each=$5 resolve=$6
body=$(mktemp); end=$(( $(date +%s) + total )); n=0
while :; do
  n=$((n+1))
  code=$(curl -s -o "$body" -w '%{http_code}' --max-time "$each" \${resolve:+--resolve "$resolve"} \\
    "$url" 2>/dev/null) || true
  if [ "$code" = "$expect" ]; then rm -f "$body"; echo "HTTP $code after $n attempt(s)"; exit 0; fi
  if [ "$(date +%s)" -ge "$end" ]; then
    [ "$code" = 000 ] && code="no response (connection refused or timed out)"
    echo "last answer: $code after $n attempt(s)"; head -c 2000 "$body"; rm -f "$body"; exit 42
  fi
  if [ $n -lt 25 ]; then sleep 0.02; else sleep "$interval"; fi
done`;

const COMMAND_CHECK = `dir=$1 cmd=$2 total=$3 interval=$4 port=$5
end=$(( $(date +%s) + total )); n=0; cd "$dir"
while :; do
  n=$((n+1))
  if out=$(PORT=$port sh -c "$cmd" 2>&1); then echo "command passed after $n attempt(s)"; exit 0; fi
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "command failed after $n attempt(s); last output:"; printf '%s\\n' "$out" | tail -n 20; exit 42
  fi
  if [ $n -lt 25 ]; then sleep 0.02; else sleep "$interval"; fi
done`;

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
}

/** The health check as argv, polled on the host itself (the app listens on loopback). */
export function healthArgv(h: HealthSpec, target: HealthTarget, releaseDir: string): string[] {
  const total = String(Math.ceil(h.timeout));
  if (h.command) return sh(COMMAND_CHECK, releaseDir, h.command, total, String(h.interval), String(target.port));
  const url = `${target.site?.base ?? `http://127.0.0.1:${target.port}`}${h.path}`;
  return sh(
    HTTP_CHECK,
    url,
    String(h.status),
    total,
    String(h.interval),
    String(h.request_timeout),
    ...(target.site?.resolve ? [target.site.resolve] : []),
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
const REMOVE = `set -e
t=$1; shift
mkdir -p "$t"
n=0; for p; do if [ -e "$p" ] || [ -L "$p" ]; then n=$((n+1)); mv -f "$p" "$t/$n"; fi; done
setsid sh -c 'rm -rf "$1"/*' sh "$(dirname "$t")" >/dev/null 2>&1 </dev/null &`;

/** argv deleting releases with their stored manifests (moved to the trash at once, deleted in the background). */
export function removeReleasesArgv(l: Layout, ids: string[], manifests: Record<string, string>): string[] {
  const files = ids.flatMap((id) => (manifests[id] ? [`${l.manifests}/${manifests[id]}`] : []));
  return sh(REMOVE, `${l.meta}/trash/${Date.now()}`, ...ids.map((id) => l.release(id)), ...files);
}

const ENSURE_SHARED = `set -e
owner=$1; shift
for d; do
  if [ -n "$owner" ]; then install -d -m 0750 -o "$owner" -g "$owner" "$d"; else mkdir -p "$d"; fi
done`;

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
