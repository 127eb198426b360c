// An image source on a registry (the Docker Registry HTTP API v2): which tag to watch (a tag, or the highest one in a
// semver range after the include/exclude filters), and the digest it points at now, by a HEAD of its manifest (a few
// hundred bytes: nothing is pulled until there is a new digest). A token file gives a bearer token; without one, a
// registry's anonymous token (Docker Hub's) is fetched when it asks for one.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { SlipwayError } from '../errors.ts';

const MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
/** a tags list larger than this is not read */
const MAX_TAGS_BYTES = 1024 * 1024;

export interface ImageRef {
  /** https://host, or http:// for a registry on the host's loopback (as docker itself allows) */
  base: string;
  /** the repository path on the registry */
  path: string;
  /** the name docker pulls it by (registry host included unless Docker Hub) */
  name: string;
}

/** Where an image repository lives (pure): Docker Hub unless the first part names a host. */
export function parseImage(image: string): ImageRef {
  const [first, ...rest] = image.split('/');
  const hasHost = rest.length > 0 && (/[.:]/.test(first!) || first === 'localhost');
  if (!hasHost)
    return { base: 'https://registry-1.docker.io', path: rest.length ? image : `library/${image}`, name: image };
  const loopback = /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(first!);
  // the address, not the name: Node 18 takes localhost's first address (::1), a registry may listen on 127.0.0.1
  const host = first!.replace(/^localhost\b/, '127.0.0.1');
  return { base: `${loopback ? 'http' : 'https'}://${host}`, path: rest.join('/'), name: image };
}

export interface TagPolicy {
  tag?: string;
  semver?: string;
  include?: string;
  exclude?: string;
}

/** The tag to watch (pure): the tag named, or the highest version in the range that the filters let through. */
export function pickTag(tags: string[], p: TagPolicy): string | undefined {
  if (p.tag) return p.tag;
  const include = p.include ? new RegExp(p.include) : undefined;
  const exclude = p.exclude ? new RegExp(p.exclude) : undefined;
  const candidates = tags.filter(
    (t) => (!include || include.test(t)) && !exclude?.test(t) && semver.valid(semver.clean(t) ?? ''),
  );
  const best = semver.maxSatisfying(
    candidates.map((t) => semver.clean(t)!),
    p.semver!,
  );
  return best ? candidates.find((t) => semver.clean(t) === best) : undefined;
}

type Ask = (url: string, init: RequestInit) => Promise<Response>;

/** A registry request with the token file's bearer token, or the anonymous token the registry's challenge offers. */
async function ask(ref: ImageRef, url: string, init: RequestInit, tokenFile?: string): Promise<Response> {
  const get: Ask = (u, i) =>
    fetch(u, { ...i, redirect: 'follow', signal: AbortSignal.timeout(15_000) }).catch((e: Error) => {
      throw new SlipwayError('connection', `${ref.name}: ${String(e.cause ?? e.message)}`);
    });
  const auth = (token: string) => ({ ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  if (tokenFile) return get(url, auth(readFileSync(tokenFile, 'utf8').trim()));
  const first = await get(url, init);
  const challenge = first.status === 401 ? first.headers.get('www-authenticate') : null;
  const m = challenge && /^Bearer realm="([^"]+)"(?:,service="([^"]*)")?(?:,scope="([^"]*)")?/i.exec(challenge);
  if (!m) return first;
  const tokenUrl = new URL(m[1]!);
  if (m[2]) tokenUrl.searchParams.set('service', m[2]);
  tokenUrl.searchParams.set('scope', m[3] ?? `repository:${ref.path}:pull`);
  const t = await get(tokenUrl.toString(), {});
  if (!t.ok) return first;
  const body = (await t.json()) as { token?: string; access_token?: string };
  return get(url, auth(body.token ?? body.access_token ?? ''));
}

function refused(ref: ImageRef, what: string, r: Response): SlipwayError {
  const hint =
    r.status === 401 || r.status === 403 ? 'a private registry needs pull.source.token_file on the host' : undefined;
  return new SlipwayError('connection', `${ref.name}: ${what}: HTTP ${r.status}`, hint ? { hint } : {});
}

/** The repository's tags (the first 1,000; a semver range needs them, a fixed tag does not). */
export async function listTags(ref: ImageRef, tokenFile?: string): Promise<string[]> {
  const r = await ask(ref, `${ref.base}/v2/${ref.path}/tags/list?n=1000`, {}, tokenFile);
  if (!r.ok) throw refused(ref, 'tags', r);
  const text = await r.text();
  if (text.length > MAX_TAGS_BYTES) throw new SlipwayError('connection', `${ref.name}: tags list over 1 MiB`);
  return ((JSON.parse(text) as { tags?: string[] | null }).tags ?? []).filter((t) => typeof t === 'string');
}

/** The digest the tag points at now: a HEAD of its manifest. */
export async function tagDigest(ref: ImageRef, tag: string, tokenFile?: string): Promise<string> {
  const r = await ask(
    ref,
    `${ref.base}/v2/${ref.path}/manifests/${tag}`,
    { method: 'HEAD', headers: { accept: MANIFESTS } },
    tokenFile,
  );
  const digest = r.headers.get('docker-content-digest') ?? '';
  if (!r.ok) throw refused(ref, `tag ${tag}`, r);
  if (!/^sha256:[a-f0-9]{64}$/.test(digest))
    throw new SlipwayError('connection', `${ref.name}:${tag}: the registry gave no Docker-Content-Digest`);
  return digest;
}
