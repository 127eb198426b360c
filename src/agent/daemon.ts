// The slipway agent (`node agent.mjs run`, run by slipway-agent.service as root): watch and heal every app
// registered on this host, and pull new versions for those that pull.
// The CLI asks it over its root-only unix socket (through SSH): GET /status, POST /check, POST /resume?app=NAME,
// POST /pull?app=NAME (look at the app's pull source now), GET|PUT /webhook?app=NAME (its webhook secret).
// Webhooks from CI come on a second socket, through Caddy (./hooks-server.ts).
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { isProxied } from '../proxy/caddy.ts';
import { runtimeFor } from '../runtime/index.ts';
import { AGENT, layout } from '../server/layout.ts';
import { Agent, readDesired, runConfig } from './agent.ts';
import { readHookSecret, serveWebhooks, writeHookSecret } from './hooks-server.ts';
import { type AppWatch, CADDY, startWatching } from './watch.ts';
import { AgentBoard, parsePeers } from './board.ts';
import { loadJson, saveJson } from './memory.ts';
import { INVITE_TTL_MS, LINK_TTL_MS, Logins, type Tokens, whoProblem } from '../web/auth.ts';
import { readBody, serveDashboard } from '../web/server.ts';

/** what a relay of the other hosts' boards may weigh: a few dozen apps each */
const MAX_RELAY_BODY = 4 * 1024 * 1024;

declare const SLIPWAY_VERSION: string;

/** Every app, every minute: what no event announces (a changed file inside a release) is seen then. */
const RESYNC_MS = 60_000;

const started = new Date().toISOString();
const log = (line: string) => process.stdout.write(`${line}\n`);
const board = new AgentBoard(SLIPWAY_VERSION, log);
const agent = new Agent({
  appsDir: AGENT.apps,
  stateFile: AGENT.state,
  log,
  observed: (cfg, o) => board.observed(cfg, o),
});
const logins = new Logins(
  () => loadJson<Tokens>(AGENT.webTokens, { links: {}, sessions: {} }),
  (t) => saveJson(AGENT.webTokens, t),
);

/** The watches for the apps as registered and deployed now. */
function watches(): AppWatch[] {
  return agent.registrations().flatMap((reg) => {
    const d = readDesired(reg.appDir);
    const cfg = d && runConfig(reg, d);
    const l = layout(reg.appDir);
    // not deployed yet: the first deploy's desired.json is what to wait for
    if (!cfg) return [{ app: reg.app, units: [], files: [], dirs: [l.meta] }];
    const w = runtimeFor(cfg).watch(cfg);
    const proxied = isProxied(cfg);
    return [
      {
        app: reg.app,
        units: [...w.units, ...(proxied ? [CADDY.unit] : [])],
        files: w.files,
        ...(w.events ? { events: w.events } : {}),
        dirs: [l.appDir, l.meta, l.release(d.release), ...(proxied ? [CADDY.dir] : [])],
      },
    ];
  });
}

/** Each pulling app's look at its source, every `pull.interval` seconds (and at once when it starts pulling). */
const pullTimers = new Map<string, { every: number; timer: NodeJS.Timeout }>();
/** the webhook path of each app that takes webhooks */
const webhooks = new Map<string, string>();
/** the names Caddy publishes the dashboard under (`dashboard.domain` of each app) */
let dashboardDomains: string[] = [];
function repull(): void {
  const every = new Map<string, number>();
  webhooks.clear();
  const domains = new Set<string>();
  for (const reg of agent.registrations()) {
    const d = readDesired(reg.appDir);
    const cfg = d && runConfig(reg, d);
    const pull = cfg?.pull;
    if (pull) every.set(reg.app, pull.interval);
    if (pull?.webhook) webhooks.set(reg.app, pull.webhook);
    if (cfg?.dashboard) domains.add(cfg.dashboard.domain.toLowerCase());
  }
  dashboardDomains = [...domains];
  for (const [app, t] of pullTimers)
    if (every.get(app) !== t.every) {
      clearInterval(t.timer);
      pullTimers.delete(app);
    }
  for (const [app, s] of every) {
    if (pullTimers.has(app)) continue;
    pullTimers.set(app, { every: s, timer: setInterval(() => void agent.pull(app), s * 1000) });
    void agent.pull(app);
  }
}

let stopWatching = () => {};
let watched = '';
/** Rebuilt when what is to be watched changed (an app added, a new release). */
function rewatch(): void {
  const now = watches();
  const key = JSON.stringify(now);
  if (key === watched) return;
  stopWatching();
  watched = key;
  repull(); // a new release may come with another pull setting
  // a change may be a new release (a folder to watch) or a new app: the watches follow
  stopWatching = startWatching(
    now,
    (app) => {
      agent.schedule(app);
      setImmediate(rewatch);
    },
    log,
  );
}

async function resync(): Promise<void> {
  rewatch();
  await agent.checkAll();
  rewatch();
}

/** The minute's full look at every app, one after another spread over the minute: never a spike of all at once. */
function resyncSpread(): void {
  rewatch();
  const apps = agent.registrations().map((r) => r.app);
  for (const [i, app] of apps.entries())
    setTimeout(() => void agent.check(app).then(rewatch), (i * RESYNC_MS) / apps.length);
}

function serve(): void {
  rmSync(AGENT.socket, { force: true });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/status')
      return reply(200, { version: SLIPWAY_VERSION, pid: process.pid, started, apps: agent.memory });
    // the grid across hosts: a `slipway dashboard` reads each host's board and relays the others' to this one
    if (req.method === 'GET' && url.pathname === '/board') return reply(200, board.apps());
    if (req.method === 'POST' && url.pathname === '/peers') return void relayPeers(req, reply);
    if (req.method === 'POST' && url.pathname === '/check') {
      void resync();
      return reply(202, { checking: true });
    }
    const app = url.searchParams.get('app') ?? '';
    const known = agent.registrations().some((r) => r.app === app);
    if (req.method === 'POST' && url.pathname === '/resume' && known) {
      agent.resume(app);
      return reply(200, { resumed: app });
    }
    if (req.method === 'POST' && url.pathname === '/pull' && pullTimers.has(app)) {
      void agent.pull(app);
      return reply(202, { pulling: app });
    }
    if (url.pathname === '/webhook' && webhooks.has(app)) return webhookSecret(req, app, reply);
    if (req.method === 'POST' && url.pathname === '/login-link') return loginLink(url, reply);
    reply(404, { error: 'unknown request' });
  });
  server.listen(AGENT.socket, () => chmodSync(AGENT.socket, 0o600));
}

/** GET: the app's webhook path and secret (null when it has none yet); PUT: a new secret (the CLI makes it). */
function webhookSecret(req: IncomingMessage, app: string, reply: (code: number, body: unknown) => void): void {
  if (req.method === 'GET') {
    reply(200, { path: webhooks.get(app), secret: readHookSecret(app) ?? null });
    return;
  }
  if (req.method !== 'PUT') {
    reply(405, { error: 'GET or PUT' });
    return;
  }
  void readBody(req).then((body) => {
    const secret = /^[A-Za-z0-9_-]{32,128}$/.exec(body.trim())?.[0];
    if (!secret) return reply(400, { error: 'a secret is 32 to 128 letters, digits, _ or -' });
    writeHookSecret(app, secret);
    log(`${app}: new webhook secret`);
    reply(200, { path: webhooks.get(app) });
  });
}

async function relayPeers(req: IncomingMessage, reply: (code: number, body: unknown) => void) {
  const peers = parsePeers(await readBody(req, MAX_RELAY_BODY));
  if (typeof peers === 'string') return reply(400, { error: peers });
  board.relay(peers);
  reply(200, { relayed: peers.length });
}

/** A one-time dashboard login link for the CLI (`slipway dashboard`, `--invite`): its token. */
function loginLink(url: URL, reply: (code: number, body: unknown) => void) {
  const who = url.searchParams.get('who') ?? '';
  const role = url.searchParams.get('role') === 'read-only' ? 'read-only' : 'admin';
  const problem = whoProblem(who);
  if (problem) return reply(400, { error: `who: ${problem}` });
  const ttl = url.searchParams.get('invite') === '1' ? INVITE_TTL_MS : LINK_TTL_MS;
  log(`dashboard: a ${role} login link for ${who}`);
  reply(200, { token: logins.link(role, who, ttl), expires_in: ttl / 1000 });
}

function serveWeb(): void {
  rmSync(AGENT.webSocket, { force: true });
  // every request needs a session from a login link: the socket itself may be opened by the tunnel's login user
  const server = serveDashboard(AGENT.webSocket, { board, logins, domains: () => dashboardDomains, log });
  server.on('listening', () => chmodSync(AGENT.webSocket, 0o666));
  board.start(agent);
}

serve();
serveWeb();
serveWebhooks({ webhookOf: (app) => webhooks.get(app), pull: (app) => void agent.pull(app), log });
void resync();
setInterval(resyncSpread, RESYNC_MS);
log(
  `slipway agent ${SLIPWAY_VERSION} watching ${
    agent
      .registrations()
      .map((r) => r.app)
      .join(', ') || 'no apps yet'
  }`,
);
