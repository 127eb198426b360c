// The app's site in Caddy's JSON config, built by pure functions. Every
// object slipway owns carries an @id, so later changes address it directly.
import type { ResolvedConfig } from '../config/load.ts';
import { AGENT } from '../server/layout.ts';

type ProxyConfig = Pick<ResolvedConfig, 'app' | 'port'> & {
  proxy: NonNullable<ResolvedConfig['proxy']>;
  pull?: Pick<NonNullable<ResolvedConfig['pull']>, 'webhook'>;
  dashboard?: Pick<NonNullable<ResolvedConfig['dashboard']>, 'domain'>;
};

export const ids = (app: string) => ({
  route: `slipway_${app}`,
  proxy: `slipway_${app}_proxy`,
  maintenance: `slipway_${app}_maintenance`,
  webhook: `slipway_${app}_webhook`,
  dashboard: `slipway_${app}_dashboard`,
});

/** Caddy's cap on a webhook's body; the agent checks it again */
const WEBHOOK_MAX_BODY = 1024 * 1024;

/** `pull.webhook`: that path on the app's site goes to the agent's webhook socket, as /hook/APP (pure). */
export function webhookRoute(cfg: ProxyConfig): Record<string, unknown> | undefined {
  const path = cfg.pull?.webhook;
  if (!path) return undefined;
  return {
    '@id': ids(cfg.app).webhook,
    match: [{ ...(cfg.proxy.domain ? { host: [cfg.proxy.domain] } : {}), path: [path] }],
    handle: [
      { handler: 'request_body', max_size: WEBHOOK_MAX_BODY },
      { handler: 'rewrite', uri: `/hook/${cfg.app}` },
      { handler: 'reverse_proxy', upstreams: [{ dial: `unix/${AGENT.hooksSocket}` }] },
    ],
    terminal: true,
  };
}

/** `dashboard.domain`: that name goes to the agent's dashboard socket, which wants a session for each request. */
export function dashboardRoute(cfg: ProxyConfig): Record<string, unknown> | undefined {
  const domain = cfg.dashboard?.domain;
  if (!domain) return undefined;
  return {
    '@id': ids(cfg.app).dashboard,
    match: [{ host: [domain] }],
    handle: [
      { handler: 'request_body', max_size: 64 * 1024 },
      { handler: 'reverse_proxy', upstreams: [{ dial: `unix/${AGENT.webSocket}` }], flush_interval: -1 },
    ],
    terminal: true,
  };
}

/** A site of files: the folder Caddy serves, and how it answers. */
export interface FileSite {
  root: string;
  /** a path that is no file answers the site's /index.html (client-side routes) */
  spa: boolean;
  /** path patterns of content-hashed files, cached by browsers for good; everything else is revalidated */
  immutable: string[];
  /** the file Caddy writes the site's access log to */
  accessLog: string;
}

export function serverName(cfg: ProxyConfig): string {
  return `slipway_${cfg.proxy.domain ? 443 : cfg.proxy.port}`;
}

function match(cfg: ProxyConfig): { match?: { host: string[] }[] } {
  return cfg.proxy.domain ? { match: [{ host: [cfg.proxy.domain] }] } : {};
}

export function upstreams(port: number): { dial: string }[] {
  return [{ dial: `127.0.0.1:${port}` }];
}

/** The app's reverse proxy to several addresses, a refused dial retried on another for up to 5 s. */
export function proxyHandler(cfg: ProxyConfig, dials: string[]): Record<string, unknown> {
  return {
    handler: 'reverse_proxy',
    '@id': ids(cfg.app).proxy,
    upstreams: dials.map((dial) => ({ dial })),
    load_balancing: { try_duration: '5s', try_interval: '100ms' },
  };
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
  // webhooks and the dashboard still reach the agent during maintenance: a deploy may be what ends it
  const hook = cfg.pull?.webhook;
  const dashboard = cfg.dashboard?.domain;
  const exempt = [...(hook ? [{ path: [hook] }] : []), ...(dashboard ? [{ host: [dashboard] }] : [])];
  return {
    '@id': ids(cfg.app).maintenance,
    ...(exempt.length ? { match: [{ ...match(cfg).match?.[0], not: exempt }] } : match(cfg)),
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

const headers = (value: string) => ({ handler: 'headers', response: { set: { 'Cache-Control': [value] } } });

/**
 * The handlers serving a site of files: HTML and other names are revalidated on every visit (a deploy shows at
 * once), hashed assets are immutable, `.br`/`.gz` files made by the build are sent to browsers that take them,
 * and with `spa` a path that is no file answers /index.html (never under the hashed assets' paths: a missing
 * script must be a 404, not a page cached as that script for a year).
 */
export function fileHandlers(app: string, site: FileSite): Record<string, unknown>[] {
  const hashed = site.immutable.length > 0 ? [{ path: site.immutable }] : [];
  const fallback = { root: site.root, try_files: ['{http.request.uri.path}', '/index.html'] };
  return [
    headers('no-cache'),
    ...hashed.map((match) => ({
      handler: 'subroute',
      routes: [{ match: [match], handle: [headers('public, max-age=31536000, immutable')] }],
    })),
    ...(site.spa
      ? [
          {
            handler: 'subroute',
            routes: [
              {
                match: [{ file: fallback, ...(hashed.length ? { not: hashed } : {}) }],
                handle: [{ handler: 'rewrite', uri: '{http.matchers.file.relative}' }],
              },
            ],
          },
        ]
      : []),
    {
      handler: 'file_server',
      '@id': ids(app).proxy,
      root: site.root,
      precompressed: { br: {}, gzip: {} },
      precompressed_order: ['br', 'gzip'],
    },
  ];
}

interface CaddyServer {
  listen?: string[];
  routes?: Record<string, unknown>[];
  logs?: { default_logger_name?: string; logger_names?: Record<string, string> };
  [k: string]: unknown;
}
interface CaddyLog {
  exclude?: string[];
  include?: string[];
  [k: string]: unknown;
}
interface CaddyConfig {
  apps?: { http?: { servers?: Record<string, CaddyServer> } };
  logging?: { logs?: Record<string, CaddyLog> };
  [k: string]: unknown;
}

/**
 * The site's access log in its own file (kept out of Caddy's default log, the journal): requests of this site
 * only, by its domain on a shared HTTPS server, or all of its own port's.
 */
function withAccessLog(config: CaddyConfig, server: CaddyServer, cfg: ProxyConfig, file: string): void {
  const name = `slipway_${cfg.app}`;
  server.logs ??= {};
  if (cfg.proxy.domain) (server.logs.logger_names ??= {})[cfg.proxy.domain] = name;
  else server.logs.default_logger_name = name;
  const logs = ((config.logging ??= {}).logs ??= {});
  logs[name] = {
    writer: { output: 'file', filename: file, roll_size_mb: 10, roll_keep: 3 },
    encoder: { format: 'json' },
    include: [`http.log.access.${name}`],
  };
  const defaultLog = (logs.default ??= {});
  if (!defaultLog.exclude?.includes(`http.log.access.${name}`))
    defaultLog.exclude = [...(defaultLog.exclude ?? []), `http.log.access.${name}`];
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
/** `files`: serve this site of files instead of proxying to the app's port */
export function withSite(
  current: CaddyConfig | null,
  cfg: ProxyConfig,
  files?: FileSite,
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
      const own = [ids(cfg.app).maintenance, ids(cfg.app).webhook, ids(cfg.app).dashboard];
      server.routes = server.routes!.filter((r) => !own.includes(r['@id'] as string));
      if (server.routes.length === 0) delete servers[name];
    }
  }
  // where traffic goes (and how it is spread over several addresses) is the deploy's to say, not setup's
  const kept = (existing?.handle as { upstreams?: { dial: string }[]; load_balancing?: unknown }[] | undefined)?.[0];
  const balancing = kept?.load_balancing ? { load_balancing: kept.load_balancing } : {};
  const handle = files
    ? fileHandlers(cfg.app, files)
    : [
        {
          handler: 'reverse_proxy',
          '@id': ids(cfg.app).proxy,
          upstreams: kept?.upstreams ?? upstreams(cfg.port),
          ...balancing,
        },
      ];
  const route = { ...appRoute(cfg, 0), handle };
  const name = serverName(cfg);
  const server = (servers[name] ??= { listen: [`:${cfg.proxy.domain ? 443 : cfg.proxy.port}`], routes: [] });
  if (files) withAccessLog(config, server, cfg, files.accessLog);
  server.routes ??= [];
  const at = server.routes.findIndex((r) => r['@id'] === routeId);
  if (at >= 0) server.routes[at] = route;
  else server.routes.push(route);
  withAgentRoutes(server, cfg);
  return { config, changed: canonical(config) !== canonical(current ?? {}) };
}

/**
 * The routes to the agent (`pull.webhook`, `dashboard.domain`) just before the app's own, which takes every other
 * path and name; none of them without their setting.
 */
function withAgentRoutes(server: CaddyServer, cfg: ProxyConfig): void {
  const own = [ids(cfg.app).webhook, ids(cfg.app).dashboard];
  const routes = server.routes!.filter((r) => !own.includes(r['@id'] as string));
  const agent = [webhookRoute(cfg), dashboardRoute(cfg)].filter((r) => r !== undefined);
  routes.splice(
    routes.findIndex((r) => r['@id'] === ids(cfg.app).route),
    0,
    ...agent,
  );
  server.routes = routes;
  if (!cfg.proxy.domain) withPlainDashboards(server);
}

/**
 * A dashboard's name on a plain-HTTP server (`plain_http`) must not turn on Caddy's automatic HTTPS there, which would
 * make the app's port speak TLS.
 */
function withPlainDashboards(server: CaddyServer): void {
  const names = server
    .routes!.filter((r) => String(r['@id']).endsWith('_dashboard'))
    .flatMap((r) => (r.match as { host: string[] }[])[0]!.host);
  if (names.length) server.automatic_https = { skip: names };
  else delete server.automatic_https;
}

/** JSON with keys sorted at every level: Caddy returns its config that way. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
