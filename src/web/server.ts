// The dashboard's HTTP server, on the agent's web socket: reached through the CLI's SSH tunnel
// (`slipway dashboard ENV`) or through Caddy (`dashboard.domain`). Every request needs a session from a login link;
// every action needs the session's CSRF token and an admin. The page is three files, the sign-in page two more.
import { gzipSync } from 'node:zlib';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ACTIONS, type ActionRequest, type Board, type BoardEvent } from './board.ts';
import type { Logins, WebSession } from './auth.ts';
import { type PageSite, pageSite, passkeyList, Passkeys, TooMany } from './passkeys.ts';
import HTML from './page/index.html?raw';
import LOGIN_HTML from './page/login.html?raw';
import LOGIN_SCRIPT from './page/login.js?raw';
import STYLE from './page/style.css?raw';
import SCRIPT from './page/app.js?raw';

/**
 * The session cookie's name. A browser keeps one set of cookies for 127.0.0.1 whatever the port, and each tunnel (one
 * per host) has its own port: the port is in the name, so a login to one host's dashboard does not log out another.
 */
export function cookieName(host: string | undefined): string {
  const port = /:(\d+)$/.exec(host ?? '')?.[1];
  return port ? `slipway_session_${port}` : 'slipway_session';
}
const MAX_ACTION_BODY = 16 * 1024;
/** events kept for a page that reconnects (Last-Event-ID) */
const KEPT_EVENTS = 500;

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

const asset = (type: string, text: string): Asset => ({ type, body: Buffer.from(text), gzip: gzipSync(text) });
export const ASSETS: Record<string, Asset> = {
  '/': asset('text/html; charset=utf-8', HTML),
  '/style.css': asset('text/css; charset=utf-8', STYLE),
  '/app.js': asset('text/javascript; charset=utf-8', SCRIPT),
};
/** what a browser without a session may load: the sign-in page (passkeys), which holds nothing from the host */
export const PUBLIC_ASSETS: Record<string, Asset> = {
  '/login': asset('text/html; charset=utf-8', LOGIN_HTML),
  '/login.js': asset('text/javascript; charset=utf-8', LOGIN_SCRIPT),
  '/style.css': ASSETS['/style.css']!,
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export interface WebOptions {
  board: Board;
  logins: Logins;
  /** the names the page is reached under through Caddy (`dashboard.domain`); loopback names always pass */
  domains: () => string[];
  log: (line: string) => void;
}

/** A Host header the page may be reached under: loopback (the tunnel) or a configured domain (pure). */
export function hostAllowed(host: string | undefined, domains: string[]): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return ['127.0.0.1', 'localhost', '[::1]'].includes(name) || domains.includes(name);
}

export function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** An action's body, checked field by field (pure): the request or why it is refused. */
export function parseAction(body: string): ActionRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) return 'the body is not an object';
  if (!ACTIONS.includes(o.action as never)) return `action: one of ${ACTIONS.join(', ')}`;
  for (const k of ['app', 'environment'] as const)
    if (typeof o[k] !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(o[k] as string)) return `${k}: a name`;
  if (o.release !== undefined && (typeof o.release !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(o.release)))
    return 'release: a release id';
  if (o.reason !== undefined && (typeof o.reason !== 'string' || o.reason.length > 500))
    return 'reason: at most 500 characters';
  return o as unknown as ActionRequest;
}

export function serveDashboard(socketPath: string, opts: WebOptions): Server {
  const kept: { id: number; e: BoardEvent }[] = [];
  let seq = 0;
  const listeners = new Set<(id: number, e: BoardEvent) => void>();
  opts.board.subscribe((e) => {
    const id = ++seq;
    kept.push({ id, e });
    if (kept.length > KEPT_EVENTS) kept.shift();
    for (const l of listeners) l(id, e);
  });
  const events = { kept, listeners, last: () => seq };
  const server = createServer((req, res) => {
    handle(req, res, opts, events).catch((e: Error) => {
      opts.log(`dashboard: ${e.message}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  server.listen(socketPath);
  return server;
}

type EventLog = {
  kept: { id: number; e: BoardEvent }[];
  listeners: Set<(id: number, e: BoardEvent) => void>;
  last: () => number;
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: WebOptions, log: EventLog): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dashboard');
  if (!hostAllowed(req.headers.host, opts.domains())) return send(res, 421, { error: 'unknown host name' });
  if (req.method === 'GET' && url.pathname === '/login' && url.searchParams.has('token'))
    return login(req, res, url, opts);
  if (req.method === 'GET' && PUBLIC_ASSETS[url.pathname]) return serveAsset(req, res, PUBLIC_ASSETS[url.pathname]!);
  if (url.pathname === '/favicon.ico') return void res.writeHead(204, SECURITY_HEADERS).end();
  if (req.method === 'POST' && url.pathname.startsWith('/passkey/')) return passkeyLogin(req, res, url, opts);
  const cookie = cookieName(req.headers.host);
  const token = cookieOf(req.headers.cookie, cookie);
  const session = opts.logins.session(token);
  if (!session) return refuseAnonymous(res, url);
  if (req.method === 'GET' && ASSETS[url.pathname]) return serveAsset(req, res, ASSETS[url.pathname]!);
  if (req.method === 'POST') {
    const why = forgery(req, session);
    if (why) {
      opts.log(`dashboard: ${session.who}: refused ${url.pathname}: ${why}`);
      return send(res, 403, { error: why });
    }
    if (url.pathname === '/api/logout') {
      opts.logins.logout(token!);
      return send(res, 200, { ok: true }, { 'set-cookie': `${cookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict` });
    }
    if (url.pathname === '/api/action') return action(req, res, session, opts);
    if (url.pathname.startsWith('/api/passkeys/'))
      return managePasskeys(req, res, url, { session, token: token! }, opts);
  }
  if (req.method === 'GET') return read(req, res, url, session, opts, log);
  send(res, 404, { error: 'not found' });
}

/** No session: an API call gets 401; a page gets 401 with the sign-in page (a passkey, or how to get a link). */
function refuseAnonymous(res: ServerResponse, url: URL) {
  if (url.pathname.startsWith('/api/')) return send(res, 401, { error: 'log in first: slipway dashboard ENV' });
  const page = PUBLIC_ASSETS['/login']!;
  res.writeHead(401, { ...SECURITY_HEADERS, 'content-type': page.type });
  res.end(page.body);
}

/** The session cookie for a login (a link or a passkey), and where the browser goes next. */
function sessionCookie(req: IncomingMessage, opened: { token: string; session: WebSession }): string {
  const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
  const age = Math.round((opened.session.expires - Date.now()) / 1000);
  return `${cookieName(req.headers.host)}=${opened.token}; Path=/; Max-Age=${age}; HttpOnly; SameSite=Strict${secure}`;
}

function login(req: IncomingMessage, res: ServerResponse, url: URL, opts: WebOptions): void {
  const redeemed = opts.logins.redeem(url.searchParams.get('token') ?? '');
  if (!redeemed) {
    opts.log('dashboard: a login link was refused (used already, expired or unknown)');
    res.writeHead(401, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('This login link was used already or has expired. Ask for a new one: slipway dashboard ENV\n');
  }
  opts.log(`dashboard: ${redeemed.session.who} logged in (${redeemed.session.role})`);
  res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': sessionCookie(req, redeemed) });
  res.end();
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined; // `null` (a sandboxed frame, a file) or not a URL: not the page's own
  }
}

/** Why a POST may not come from the page itself: no CSRF token, another site's Origin, or no JSON. */
function forgery(req: IncomingMessage, session: WebSession): string | undefined {
  if (req.headers['x-csrf-token'] !== session.csrf) return 'missing or wrong CSRF token';
  return foreign(req, false);
}

/** Why a POST is not the page's own by its headers: another site's Origin (or none, when required), or no JSON. */
function foreign(req: IncomingMessage, originRequired: boolean): string | undefined {
  const origin = req.headers.origin;
  if (!origin && originRequired) return 'no Origin';
  if (origin && hostOf(origin) !== req.headers.host) return `cross-site request (${origin.slice(0, 100)})`;
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return 'not JSON';
  return undefined;
}

function serveAsset(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': a.type,
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(gzip ? a.gzip : a.body);
}

function read(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  session: WebSession,
  opts: WebOptions,
  log: EventLog,
) {
  const { board } = opts;
  const q = (k: string) => url.searchParams.get(k) ?? '';
  switch (url.pathname) {
    case '/api/session':
      return send(res, 200, {
        who: session.who,
        role: session.role,
        csrf: session.csrf,
        host: board.host,
        version: board.version,
      });
    case '/api/apps':
      return send(res, 200, board.apps());
    case '/api/peers':
      return send(res, 200, board.peers());
    case '/api/passkeys': {
      const site = pageSite(req.headers.host, req.headers['x-forwarded-proto']);
      const list = typeof site === 'string' ? [] : passkeyList(opts.logins.passkeys(), session, site.rpID);
      return send(res, 200, { passkeys: list, unavailable: typeof site === 'string' ? site : undefined });
    }
    case '/api/history':
      return send(res, 200, board.history(q('app'), q('environment')));
    case '/api/samples':
      return send(res, 200, board.samples(q('app'), q('environment')));
    case '/api/release':
      return send(res, 200, board.releaseConfig(q('app'), q('environment'), q('id')));
    case '/api/events':
      return streamEvents(req, res, board, log);
    case '/api/logs':
      return streamLogs(req, res, board, q('app'), q('environment'));
  }
  send(res, 404, { error: 'not found' });
}

/** Server-sent events: the state now, then every change; a reconnect with Last-Event-ID gets what it missed. */
function startStream(res: ServerResponse): (id: number | undefined, event: string, data: unknown) => void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  const beat = setInterval(() => res.write(': still here\n\n'), 15_000);
  res.on('close', () => clearInterval(beat));
  return (id, event, data) =>
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const lastEventId = (req: IncomingMessage) => Number(req.headers['last-event-id'] ?? Number.NaN);

function streamEvents(req: IncomingMessage, res: ServerResponse, board: Board, log: EventLog): void {
  const write = startStream(res);
  const after = lastEventId(req);
  const missed = Number.isFinite(after) ? log.kept.filter((k) => k.id > after) : [];
  // what happened while away, if it is all still kept; otherwise the state as it is now
  if (missed.length && missed[0]!.id === after + 1) for (const k of missed) write(k.id, k.e.type, k.e);
  else {
    write(log.last(), 'apps', { type: 'apps', apps: board.apps() });
    write(undefined, 'peers', { type: 'peers', peers: board.peers() });
    for (const run of board.runs()) write(undefined, 'run', { type: 'run', run });
  }
  const listener = (id: number, e: BoardEvent) => write(id, e.type, e);
  log.listeners.add(listener);
  res.on('close', () => log.listeners.delete(listener));
}

function streamLogs(req: IncomingMessage, res: ServerResponse, board: Board, app: string, env: string) {
  const after = lastEventId(req);
  let write: ReturnType<typeof startStream> | undefined;
  const stop = board.followLogs(app, env, Number.isFinite(after) ? after : -1, (l) => {
    write ??= startStream(res);
    write(l.id, 'line', l.line);
  });
  if (!stop) return send(res, 404, { error: `no app ${app} (${env}) on this host` });
  write ??= startStream(res);
  res.on('close', stop);
}

function action(req: IncomingMessage, res: ServerResponse, session: WebSession, opts: WebOptions) {
  if (session.role !== 'admin') {
    opts.log(`dashboard: ${session.who}: refused an action (read-only)`);
    return send(res, 403, { error: 'this login is read-only' });
  }
  return readBody(req).then((body) => {
    const request = parseAction(body);
    if (typeof request === 'string') return send(res, 400, { error: request });
    opts.log(
      `dashboard: ${session.who}: ${request.action} ${request.app} (${request.environment}) ${request.release ?? ''}`,
    );
    return opts.board.act(request, session).then(
      (done) => send(res, 200, { done }),
      (e: Error) => send(res, 409, { error: e.message }),
    );
  });
}

/** A request's body, up to max characters (a longer one is cut off: the connection is dropped). */
export function readBody(req: IncomingMessage, max = MAX_ACTION_BODY): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > max) req.destroy();
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A passkey ceremony's answer: the challenge's token and the browser's credential (pure). */
export function parseCeremony(body: string): { challenge: string; answer: unknown } | string {
  try {
    const o = JSON.parse(body) as { challenge?: unknown; answer?: unknown };
    if (typeof o?.challenge !== 'string' || typeof o.answer !== 'object' || o.answer === null)
      return 'challenge and answer are needed';
    return { challenge: o.challenge, answer: o.answer };
  } catch {
    return 'the body is not JSON';
  }
}

/** The id in a request to forget a passkey (pure): undefined when there is none. */
export function parsePasskeyId(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown })?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The page's site, or the answer that refuses a passkey here (an address is no RP ID). */
function siteOr400(req: IncomingMessage, res: ServerResponse): PageSite | undefined {
  const site = pageSite(req.headers.host, req.headers['x-forwarded-proto']);
  if (typeof site === 'string') return void send(res, 400, { error: site });
  return site;
}

/** A ceremony's options for the browser; 429 when too many wait already (anything else is the server's fault). */
async function sendOptions(res: ServerResponse, options: Promise<unknown>): Promise<void> {
  try {
    send(res, 200, await options);
  } catch (e) {
    if (!(e instanceof TooMany)) throw e;
    send(res, 429, { error: e.message });
  }
}

/** Signing in with a passkey, without a session: options, then the signed answer for a session cookie. */
async function passkeyLogin(req: IncomingMessage, res: ServerResponse, url: URL, opts: WebOptions) {
  const why = foreign(req, true);
  if (why) return send(res, 403, { error: why });
  const site = siteOr400(req, res);
  if (!site) return;
  const passkeys = new Passkeys(opts.logins);
  if (url.pathname === '/passkey/options') return sendOptions(res, passkeys.loginOptions(site));
  if (url.pathname !== '/passkey/login') return send(res, 404, { error: 'not found' });
  const c = parseCeremony(await readBody(req));
  if (typeof c === 'string') return send(res, 400, { error: c });
  try {
    const opened = await passkeys.login(site, c.challenge, c.answer);
    opts.log(`dashboard: ${opened.session.who} logged in with a passkey (${opened.session.role})`);
    send(res, 200, { who: opened.session.who }, { 'set-cookie': sessionCookie(req, opened) });
  } catch (e) {
    opts.log(`dashboard: a passkey sign-in was refused: ${(e as Error).message}`);
    send(res, 401, { error: (e as Error).message });
  }
}

/** A session's passkeys: make one (options, then the answer), or forget one (its own, or anyone's for an admin). */
async function managePasskeys(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  login: { session: WebSession; token: string },
  opts: WebOptions,
) {
  const site = siteOr400(req, res);
  if (!site) return;
  const { session, token } = login;
  const passkeys = new Passkeys(opts.logins);
  const body = await readBody(req);
  if (url.pathname === '/api/passkeys/options') return sendOptions(res, passkeys.addOptions(site, session, token));
  if (url.pathname === '/api/passkeys/add') {
    const c = parseCeremony(body);
    if (typeof c === 'string') return send(res, 400, { error: c });
    const id = await passkeys.add(site, session, token, c.challenge, c.answer).catch((e: Error) => e);
    if (id instanceof Error) return send(res, 400, { error: id.message });
    opts.log(`dashboard: ${session.who} added a passkey (${session.role})`);
    return send(res, 200, { id });
  }
  if (url.pathname !== '/api/passkeys/forget') return send(res, 404, { error: 'not found' });
  const id = parsePasskeyId(body);
  const mine = passkeyList(opts.logins.passkeys(), session, site.rpID).find((k) => k.id === id);
  if (!mine) return send(res, 404, { error: 'no such passkey of yours' });
  opts.logins.forgetPasskey(mine.id);
  opts.log(`dashboard: ${session.who} removed a passkey of ${mine.who}`);
  send(res, 200, { done: `The passkey of ${mine.who} is removed` });
}
