// The app's site in Caddy's JSON config, built by pure functions. Every
// object slipway owns carries an @id, so later changes address it directly.
import type { ResolvedConfig } from '../config/load.ts';

type ProxyConfig = Pick<ResolvedConfig, 'app' | 'port'> & {
  proxy: NonNullable<ResolvedConfig['proxy']>;
};

export const ids = (app: string) => ({
  route: `slipway_${app}`,
  proxy: `slipway_${app}_proxy`,
  maintenance: `slipway_${app}_maintenance`,
});

export function serverName(cfg: ProxyConfig): string {
  return `slipway_${cfg.proxy.domain ? 443 : cfg.proxy.port}`;
}

function match(cfg: ProxyConfig): { match?: { host: string[] }[] } {
  return cfg.proxy.domain ? { match: [{ host: [cfg.proxy.domain] }] } : {};
}

export function upstreams(port: number): { dial: string }[] {
  return [{ dial: `127.0.0.1:${port}` }];
}

export function appRoute(cfg: ProxyConfig, upstreamPort: number): Record<string, unknown> {
  return {
    '@id': ids(cfg.app).route,
    ...match(cfg),
    handle: [{ handler: 'reverse_proxy', '@id': ids(cfg.app).proxy, upstreams: upstreams(upstreamPort) }],
    terminal: true,
  };
}

export function maintenanceRoute(cfg: ProxyConfig, message: string): Record<string, unknown> {
  const safe = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    '@id': ids(cfg.app).maintenance,
    ...match(cfg),
    handle: [
      {
        handler: 'static_response',
        status_code: 503,
        headers: {
          'Content-Type': ['text/html; charset=utf-8'],
          'Retry-After': ['120'],
          'Cache-Control': ['no-store'],
        },
        body:
          `<!doctype html><meta charset="utf-8"><title>Maintenance</title><h1>Down for ` +
          `maintenance</h1><p>${safe}</p>\n`,
      },
    ],
    terminal: true,
  };
}

interface CaddyServer {
  listen?: string[];
  routes?: Record<string, unknown>[];
  [k: string]: unknown;
}
interface CaddyConfig {
  apps?: { http?: { servers?: Record<string, CaddyServer> } };
  [k: string]: unknown;
}

/**
 * Debian's caddy package starts in Caddyfile mode first and autosaves that
 * config, so API mode resumes with its welcome page on :80. Drop exactly that
 * site (one route serving /usr/share/caddy), which would hold port 80.
 */
function withoutDebianWelcome(servers: Record<string, CaddyServer>): void {
  for (const [name, server] of Object.entries(servers)) {
    const routes = server.routes ?? [];
    if (routes.length === 1 && JSON.stringify(routes[0]).includes('"root":"/usr/share/caddy"')) delete servers[name];
  }
}

/**
 * The whole Caddy config with this app's site in place (pure). Other apps'
 * sites are kept; the app's upstream is kept when it already has one.
 */
/** `files`: serve this folder as files instead of proxying to the app's port */
export function withSite(
  current: CaddyConfig | null,
  cfg: ProxyConfig,
  files?: string,
): { config: CaddyConfig; changed: boolean } {
  const config: CaddyConfig = structuredClone(current ?? {});
  const servers = (((config.apps ??= {}).http ??= {}).servers ??= {});
  withoutDebianWelcome(servers);
  const routeId = ids(cfg.app).route;
  let existing: Record<string, unknown> | undefined;
  for (const [name, server] of Object.entries(servers)) {
    const i = (server.routes ?? []).findIndex((r) => r['@id'] === routeId);
    if (i < 0) continue;
    if (name === serverName(cfg)) {
      existing = server.routes![i];
    } else {
      // the app moved to another port or domain
      existing ??= server.routes![i];
      server.routes!.splice(i, 1);
      server.routes = server.routes!.filter((r) => r['@id'] !== ids(cfg.app).maintenance);
      if (server.routes.length === 0) delete servers[name];
    }
  }
  const keptUpstreams =
    (existing?.handle as { upstreams?: { dial: string }[] }[] | undefined)?.[0]?.upstreams ?? upstreams(cfg.port);
  const handler = files
    ? { handler: 'file_server', '@id': ids(cfg.app).proxy, root: files }
    : { handler: 'reverse_proxy', '@id': ids(cfg.app).proxy, upstreams: keptUpstreams };
  const route = { ...appRoute(cfg, 0), handle: [handler] };
  const name = serverName(cfg);
  const server = (servers[name] ??= { listen: [`:${cfg.proxy.domain ? 443 : cfg.proxy.port}`], routes: [] });
  server.routes ??= [];
  const at = server.routes.findIndex((r) => r['@id'] === routeId);
  if (at >= 0) server.routes[at] = route;
  else server.routes.push(route);
  return { config, changed: canonical(config) !== canonical(current ?? {}) };
}

/** JSON with keys sorted at every level: Caddy returns its config that way. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
