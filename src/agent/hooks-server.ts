// The agent's webhook socket: Caddy passes `pull.webhook` requests here as POST /hook/APP. A webhook that checks
// out (./webhooks.ts) is answered 202 at once and wakes the app's pull; anything else is refused, logged and not
// acted on.
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import { AGENT } from '../server/layout.ts';
import { MAX_BODY, SeenDeliveries, verifyWebhook } from './webhooks.ts';

export interface HookTarget {
  /** the app's webhook path when it pulls with `pull.webhook` (undefined: webhooks are not taken for it) */
  webhookOf(app: string): string | undefined;
  /** look at the app's source now */
  pull(app: string): void;
  log(line: string): void;
}

export function readHookSecret(app: string): string | undefined {
  try {
    return readFileSync(AGENT.hookSecret(app), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function writeHookSecret(app: string, secret: string): void {
  const file = AGENT.hookSecret(app);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** what is read and thrown away of a body over the cap, so its sender reads the 413 instead of a reset connection */
const DRAIN_MAX = 8 * MAX_BODY;

/**
 * The body, or undefined when it is longer than the cap. The rest of an oversized body is read and dropped before the
 * answer (up to DRAIN_MAX): answering and closing while Caddy still sends it makes Caddy answer 502, not the 413.
 */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number(req.headers['content-length'] ?? 0) > MAX_BODY;
    req.on('data', (c: Buffer) => {
      size += c.length;
      over ||= size > MAX_BODY;
      if (!over) chunks.push(c);
      else if (size > DRAIN_MAX) {
        resolve(undefined);
        req.destroy();
      }
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('aborted', () => resolve(undefined));
    req.on('error', reject);
  });
}

export function serveWebhooks(target: HookTarget): Server {
  const seen = new SeenDeliveries(AGENT.hooksSeen);
  const server = createServer((req, res) => {
    const reply = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    const app = /^\/hook\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1] ?? '';
    const refused = (status: number, why: string) => {
      target.log(`${app || '?'}: webhook refused (${status}): ${why}`);
      reply(status, { error: why });
    };
    if (req.method !== 'POST') return refused(405, `method ${req.method}: only POST`);
    if (!app || !target.webhookOf(app)) return refused(404, 'no app takes webhooks here');
    const secret = readHookSecret(app);
    if (!secret) return refused(503, `no webhook secret yet → slipway agent webhook ENV makes one`);
    readBody(req).then(
      (body) => {
        if (!body) return refused(413, `body over ${MAX_BODY} bytes`);
        const now = Date.now();
        const v = verifyWebhook({ headers: req.headers, body }, secret, {
          nowS: Math.floor(now / 1000),
          seen: (id) => seen.check(id, now),
        });
        if (!v.ok) return refused(v.status, v.why);
        if (v.kind === 'github' && v.event === 'ping') return reply(200, { pong: true });
        reply(202, { queued: app });
        target.log(`${app}: webhook (${v.kind}${v.delivery ? ` ${v.delivery}` : ''}): looking at the source now`);
        target.pull(app);
      },
      (e: Error) => refused(400, e.message),
    );
  });
  server.requestTimeout = 10_000;
  rmSync(AGENT.hooksSocket, { force: true });
  server.listen(AGENT.hooksSocket, () => letCaddyConnect(AGENT.hooksSocket));
  return server;
}

/** root and Caddy's group may connect (Caddy passes the webhooks on); nobody else. */
function letCaddyConnect(socket: string): void {
  const gid = groupId('caddy');
  if (gid !== undefined) chownSync(socket, 0, gid);
  chmodSync(socket, gid === undefined ? 0o600 : 0o660);
}

function groupId(name: string): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}
