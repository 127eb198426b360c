// Webhooks to the agent, reaching it through Caddy on the app's domain (pull.webhook). A webhook never says what to
// deploy: it only wakes the agent to look at the pull source now, where the signatures and the bad list decide as
// at every look. Three kinds are taken, each authenticated with the app's webhook secret:
//   GitHub:            X-Hub-Signature-256: sha256=HMAC(secret, body), X-GitHub-Delivery seen once (72 h)
//   Standard Webhooks: webhook-id, webhook-timestamp (±5 min), webhook-signature: v1,base64(HMAC(secret, id.ts.body))
//   generic:           Authorization: Bearer <secret> (an "artifact ready" call from any CI)
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { loadJson, saveJson } from './memory.ts';

export const MAX_BODY = 1024 * 1024;
/** how long a delivery id is remembered: a replay within it is refused */
export const SEEN_MS = 72 * 3600 * 1000;
/** how far a Standard Webhooks timestamp may be from the agent's clock */
export const SKEW_S = 5 * 60;

export interface HookRequest {
  /** header names in lower case, as node gives them */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export type HookVerdict =
  | { ok: true; kind: 'github' | 'standard' | 'generic'; delivery?: string; event?: string; ref?: string }
  | { ok: false; status: number; why: string };

const refuse = (status: number, why: string): HookVerdict => ({ ok: false, status, why });

function header(req: HookRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Equal strings, in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const hmac = (secret: string, data: Buffer | string) => createHmac('sha256', Buffer.from(secret)).update(data);

/** The webhook checked against the secret (pure but for `seen`, which says whether a delivery id came before). */
export function verifyWebhook(
  req: HookRequest,
  secret: string,
  o: { nowS: number; seen: (id: string) => boolean },
): HookVerdict {
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const auth = header(req, 'authorization');
  if (auth !== undefined && !header(req, 'x-hub-signature-256') && !header(req, 'webhook-signature'))
    return sameSecret(auth, `Bearer ${secret}`) ? { ok: true, kind: 'generic' } : refuse(401, 'wrong bearer token');
  if (type !== 'application/json') return refuse(415, `content type ${type || 'none'}: only application/json`);
  if (header(req, 'x-hub-signature-256') !== undefined) return github(req, secret, o.seen);
  if (header(req, 'webhook-signature') !== undefined) return standard(req, secret, o);
  return refuse(401, 'no signature (X-Hub-Signature-256, webhook-signature or Authorization: Bearer)');
}

function github(req: HookRequest, secret: string, seen: (id: string) => boolean): HookVerdict {
  const given = header(req, 'x-hub-signature-256')!;
  if (!sameSecret(given, `sha256=${hmac(secret, req.body).digest('hex')}`)) return refuse(401, 'bad signature');
  const delivery = header(req, 'x-github-delivery');
  if (!delivery) return refuse(400, 'no X-GitHub-Delivery');
  if (seen(delivery)) return refuse(409, `delivery ${delivery} was seen before (a replay)`);
  const event = header(req, 'x-github-event') ?? '';
  return { ok: true, kind: 'github', delivery, event, ...refOf(req.body) };
}

function refOf(body: Buffer): { ref?: string } {
  try {
    const ref = (JSON.parse(body.toString('utf8')) as { ref?: unknown }).ref;
    return typeof ref === 'string' ? { ref } : {};
  } catch {
    return {};
  }
}

function standard(req: HookRequest, secret: string, o: { nowS: number; seen: (id: string) => boolean }): HookVerdict {
  const id = header(req, 'webhook-id') ?? '';
  const ts = header(req, 'webhook-timestamp') ?? '';
  if (!id || !/^\d{1,12}$/.test(ts)) return refuse(400, 'webhook-id or webhook-timestamp missing');
  if (Math.abs(o.nowS - Number(ts)) > SKEW_S) return refuse(401, `timestamp ${ts} is more than 5 minutes off`);
  const expected = hmac(secret, Buffer.concat([Buffer.from(`${id}.${ts}.`), req.body])).digest('base64');
  const given = (header(req, 'webhook-signature') ?? '').split(' ');
  if (!given.some((s) => s.startsWith('v1,') && sameSecret(s.slice(3), expected))) return refuse(401, 'bad signature');
  if (o.seen(id)) return refuse(409, `webhook ${id} was seen before (a replay)`);
  return { ok: true, kind: 'standard', delivery: id };
}

/** A new webhook secret: 32 random bytes, as text GitHub takes as it is. */
export const newWebhookSecret = () => randomBytes(32).toString('base64url');

/** The same secret as Standard Webhooks writes it: `whsec_` and the key's bytes in base64. */
export const standardSecret = (secret: string) => `whsec_${Buffer.from(secret).toString('base64')}`;

/** Delivery ids seen in the last 72 hours, kept in one file (written whole and renamed into place). */
export class SeenDeliveries {
  private seen: Record<string, number>;

  constructor(private readonly file: string) {
    this.seen = loadJson<Record<string, number>>(file, {});
  }

  /** true when the id came before; otherwise it is remembered from now on */
  check(id: string, nowMs: number): boolean {
    for (const [k, at] of Object.entries(this.seen)) if (nowMs - at > SEEN_MS) delete this.seen[k];
    if (this.seen[id] !== undefined) return true;
    this.seen[id] = nowMs;
    saveJson(this.file, this.seen);
    return false;
  }
}
