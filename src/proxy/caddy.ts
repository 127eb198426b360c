// Caddy's admin API, reached on the host's loopback (localhost:2019) with curl
// over the SSH connection (bodies travel on stdin), or from this process on the host itself.
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import type { Host } from '../transport/host.ts';
import type { HealthTarget } from '../server/release.ts';
import { type FileSite, ids, maintenanceRoute, proxyHandler, serverName, upstreams, withSite } from './caddy-config.ts';

export const ADMIN = 'http://localhost:2019';

export type ProxiedConfig = ResolvedConfig & { proxy: NonNullable<ResolvedConfig['proxy']> };

export function isProxied(cfg: ResolvedConfig): cfg is ProxiedConfig {
  return !!cfg.proxy;
}

/** The curl argv for one admin request (pure). */
export function adminArgv(method: string, path: string, withBody: boolean): string[] {
  return [
    'curl',
    '-sS',
    '--max-time',
    '10',
    '-X',
    method,
    '-H',
    'Content-Type: application/json',
    ...(withBody ? ['--data-binary', '@-'] : []),
    '-w',
    '\n%{http_code}',
    `${ADMIN}${path}`,
  ];
}

async function admin(
  host: Host,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const input = body === undefined ? undefined : JSON.stringify(body);
  if (host.here) return adminHere(host, method, path, input);
  const r = await host.run(adminArgv(method, path, body !== undefined), { input, reject: false });
  if (r.exitCode !== 0) throw notAnswering(host, r.stderr.trim());
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
}

/** The same request from this process, when the host is this machine (the agent asks Caddy every few seconds). */
async function adminHere(
  host: Host,
  method: string,
  path: string,
  input: string | undefined,
): Promise<{ status: number; body: string }> {
  try {
    // the address, not the name: Node 18 takes localhost's first address (::1), Caddy listens on 127.0.0.1
    const r = await fetch(`${ADMIN.replace('localhost', '127.0.0.1')}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      ...(input === undefined ? {} : { body: input }),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: r.status, body: await r.text() };
  } catch (e) {
    throw notAnswering(host, e instanceof Error ? String(e.cause ?? e.message) : String(e));
  }
}

const notAnswering = (host: Host, details: string) =>
  new SlipwayError('failure', `${host.name}: Caddy's admin API (${ADMIN}) is not answering; nothing was switched`, {
    details,
    hint: 'check Caddy on the host: systemctl status caddy-api (slipway setup installs and starts it)',
  });

async function expectOk(host: Host, what: string, res: Promise<{ status: number; body: string }>): Promise<string> {
  const r = await res;
  if (r.status >= 300)
    throw new SlipwayError('failure', `${host.name}: Caddy refused to ${what} (HTTP ${r.status})`, {
      details: r.body.trim(),
    });
  return r.body;
}

/** Put the app's site into Caddy's config if it is missing or out of date; true when it changed. */
export async function ensureSite(host: Host, cfg: ProxiedConfig, files?: FileSite): Promise<boolean> {
  const { config, changed } = await siteAgainstCaddy(host, cfg, files);
  if (changed) await expectOk(host, 'load the new config', admin(host, 'POST', '/load', config));
  return changed;
}

/** Caddy's config with the app's site as setup writes it, and whether that changes what Caddy has now. */
async function siteAgainstCaddy(
  host: Host,
  cfg: ProxiedConfig,
  files?: FileSite,
): Promise<ReturnType<typeof withSite>> {
  const current = JSON.parse((await expectOk(host, 'return its config', admin(host, 'GET', '/config/'))) || 'null');
  return withSite(current, cfg, files);
}

/** How the app's site in Caddy differs from what setup puts there (the live upstream aside); undefined: it does not. */
export async function siteDrift(host: Host, cfg: ProxiedConfig, files?: FileSite): Promise<string | undefined> {
  return (await siteAgainstCaddy(host, cfg, files)).changed
    ? `Caddy's site for ${cfg.app} differs from what slipway writes`
    : undefined;
}

/** Caddy answers, without the app's site: to a deploy a failure, to an observer a fact (the site is missing). */
export class NoSiteError extends SlipwayError {}

/** The port Caddy sends the app's traffic to (undefined when its upstream is not a port). */
export async function liveUpstreamPort(host: Host, cfg: ProxiedConfig): Promise<number | undefined> {
  const r = await admin(host, 'GET', `/id/${ids(cfg.app).proxy}/upstreams`);
  if (r.status === 404)
    throw new NoSiteError('failure', `${host.name}: Caddy has no site for ${cfg.app}`, {
      hint: `run: slipway setup ${cfg.environment}`,
    });
  const list = JSON.parse(r.body) as { dial: string }[];
  const port = Number(list[0]?.dial.split(':').pop());
  return Number.isInteger(port) ? port : undefined;
}

/** The addresses Caddy sends the app's traffic to (undefined when it has no site for the app). */
export async function routedUpstreams(host: Host, cfg: ProxiedConfig): Promise<string[] | undefined> {
  const r = await admin(host, 'GET', `/id/${ids(cfg.app).proxy}/upstreams`);
  if (r.status === 404) return undefined;
  return (JSON.parse(r.body) as { dial: string }[]).map((u) => u.dial);
}

/**
 * Send new requests to these addresses (tasks an engine starts and stops by itself), retrying a refused dial on another
 * for a while: a task Swarm stops before Caddy hears of it costs a retry, not a failed request. True when it changed.
 */
export async function routeTo(host: Host, cfg: ProxiedConfig, dials: string[]): Promise<boolean> {
  const now = await routedUpstreams(host, cfg);
  if (now && now.join(' ') === dials.join(' ')) return false;
  await expectOk(
    host,
    'route to the tasks',
    admin(host, 'PATCH', `/id/${ids(cfg.app).proxy}`, proxyHandler(cfg, dials)),
  );
  return true;
}

/** Send all new requests to this port: one atomic config change; in-flight requests finish where they are. */
export async function switchTo(host: Host, cfg: ProxiedConfig, port: number): Promise<void> {
  await expectOk(
    host,
    'switch the upstream',
    admin(host, 'PATCH', `/id/${ids(cfg.app).proxy}/upstreams`, upstreams(port)),
  );
}

export async function setMaintenance(host: Host, cfg: ProxiedConfig, on: boolean, message: string): Promise<void> {
  const id = ids(cfg.app).maintenance;
  const exists = (await admin(host, 'GET', `/id/${id}`)).status === 200;
  if (exists) await expectOk(host, 'remove the maintenance page', admin(host, 'DELETE', `/id/${id}`));
  if (on)
    await expectOk(
      host,
      'add the maintenance page',
      admin(host, 'PUT', `/config/apps/http/servers/${serverName(cfg)}/routes/0`, maintenanceRoute(cfg, message)),
    );
}

/** Whether the app's maintenance page is on (Caddy has its route). */
export async function inMaintenance(host: Host, cfg: ProxiedConfig): Promise<boolean> {
  return (await admin(host, 'GET', `/id/${ids(cfg.app).maintenance}`)).status === 200;
}

/**
 * Where the live app answers: through Caddy behind the proxy (as visitors see it: a static site, or whichever port is
 * live), else its port.
 */
export function liveTarget(cfg: ResolvedConfig): HealthTarget {
  return isProxied(cfg) ? siteTarget(cfg) : { port: cfg.port };
}

/** A site checked through Caddy, as visitors see it. */
export function siteTarget(cfg: ProxiedConfig): HealthTarget {
  const { domain, port } = cfg.proxy;
  return {
    port,
    site: domain
      ? { base: `https://${domain}`, resolve: `${domain}:443:127.0.0.1` }
      : { base: `http://127.0.0.1:${port}` },
  };
}
