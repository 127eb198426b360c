// Webhooks to the agent: what is taken and what is refused (GitHub, Standard Webhooks, a bearer call), the replay
// memory, Caddy's route to the agent, and `pull.webhook` in slipway.yml.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SEEN_MS, SeenDeliveries, standardSecret, verifyWebhook, type HookRequest } from '../../src/agent/webhooks.ts';
import { maintenanceRoute, webhookRoute, withSite } from '../../src/proxy/caddy-config.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I';
const body = Buffer.from('{"ref":"refs/heads/main","after":"abc"}');
const sign = (data: Buffer | string, key = SECRET) => createHmac('sha256', key).update(data);
const NOW = 1_800_000_000;

function github(
  o: { sig?: string; delivery?: string; type?: string; event?: string; body?: Buffer } = {},
): HookRequest {
  const b = o.body ?? body;
  return {
    headers: {
      'content-type': o.type ?? 'application/json',
      'x-hub-signature-256': o.sig ?? `sha256=${sign(b).digest('hex')}`,
      'x-github-event': o.event ?? 'push',
      ...(o.delivery === '' ? {} : { 'x-github-delivery': o.delivery ?? 'd-1' }),
    },
    body: b,
  };
}

function standard(o: { id?: string; ts?: number; sig?: string; key?: string } = {}): HookRequest {
  const id = o.id ?? 'msg_1';
  const ts = String(o.ts ?? NOW);
  const mac = sign(Buffer.concat([Buffer.from(`${id}.${ts}.`), body]), o.key).digest('base64');
  return {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'webhook-id': id,
      'webhook-timestamp': ts,
      'webhook-signature': o.sig ?? `v1,${mac}`,
    },
    body,
  };
}

/** a replay memory of plain ids, as SeenDeliveries behaves */
function memory(): (id: string) => boolean {
  const ids = new Set<string>();
  return (id) => {
    if (ids.has(id)) return true;
    ids.add(id);
    return false;
  };
}

describe('verifyWebhook', () => {
  it('GitHub: a signed push is taken once, with its delivery, event and ref; its replay is refused', () => {
    const seen = memory();
    const o = { nowS: NOW, seen };
    assert.deepEqual(verifyWebhook(github(), SECRET, o), {
      ok: true,
      kind: 'github',
      delivery: 'd-1',
      event: 'push',
      ref: 'refs/heads/main',
    });
    assert.deepEqual(verifyWebhook(github(), SECRET, o), {
      ok: false,
      status: 409,
      why: 'delivery d-1 was seen before (a replay)',
    });
    assert.equal(verifyWebhook(github({ delivery: 'd-2' }), SECRET, o).ok, true);
  });

  it('GitHub: a wrong signature, another secret, a changed body, no delivery id: refused, and not remembered', () => {
    const calls: string[] = [];
    const o = {
      nowS: NOW,
      seen: (id: string) => {
        calls.push(id);
        return false;
      },
    };
    const bad = { ok: false, status: 401, why: 'bad signature' };
    assert.deepEqual(verifyWebhook(github({ sig: 'sha256=00' }), SECRET, o), bad);
    assert.deepEqual(verifyWebhook(github({ sig: `sha256=${sign(body, 'other').digest('hex')}` }), SECRET, o), bad);
    const changed = { ...github(), body: Buffer.from('{"ref":"refs/heads/evil"}') };
    assert.deepEqual(verifyWebhook(changed, SECRET, o), bad);
    assert.deepEqual(verifyWebhook(github({ sig: sign(body).digest('hex') }), SECRET, o), bad);
    assert.deepEqual(verifyWebhook(github({ delivery: '' }), SECRET, o), {
      ok: false,
      status: 400,
      why: 'no X-GitHub-Delivery',
    });
    assert.deepEqual(calls, []);
  });

  it('a form-encoded or missing content type is refused before any signature is looked at', () => {
    const o = { nowS: NOW, seen: memory() };
    assert.deepEqual(verifyWebhook(github({ type: 'application/x-www-form-urlencoded' }), SECRET, o), {
      ok: false,
      status: 415,
      why: 'content type application/x-www-form-urlencoded: only application/json',
    });
    const none = github();
    delete none.headers['content-type'];
    assert.deepEqual(verifyWebhook(none, SECRET, o), {
      ok: false,
      status: 415,
      why: 'content type none: only application/json',
    });
  });

  it('Standard Webhooks: taken within 5 minutes, with any of several signatures; refused past it, or replayed', () => {
    const seen = memory();
    const o = { nowS: NOW, seen };
    assert.deepEqual(verifyWebhook(standard(), SECRET, o), { ok: true, kind: 'standard', delivery: 'msg_1' });
    assert.deepEqual(verifyWebhook(standard(), SECRET, o), {
      ok: false,
      status: 409,
      why: 'webhook msg_1 was seen before (a replay)',
    });
    const rotated = standard({ id: 'msg_2' }).headers['webhook-signature'];
    assert.equal(verifyWebhook(standard({ id: 'msg_2', sig: `v1,AAAA ${rotated}` }), SECRET, o).ok, true);
    assert.equal(verifyWebhook(standard({ id: 'msg_3', ts: NOW - 299 }), SECRET, o).ok, true);
    assert.deepEqual(verifyWebhook(standard({ id: 'msg_4', ts: NOW - 301 }), SECRET, o), {
      ok: false,
      status: 401,
      why: `timestamp ${NOW - 301} is more than 5 minutes off`,
    });
    assert.equal(verifyWebhook(standard({ id: 'msg_5', ts: NOW + 301 }), SECRET, o).ok, false);
    assert.deepEqual(verifyWebhook(standard({ id: 'msg_6', key: 'other' }), SECRET, o), {
      ok: false,
      status: 401,
      why: 'bad signature',
    });
    const v2 = standard({ id: 'msg_7' }).headers['webhook-signature']!.toString().replace('v1,', 'v2,');
    assert.equal(verifyWebhook(standard({ id: 'msg_7', sig: v2 }), SECRET, o).ok, false);
  });

  it('Standard Webhooks: the secret as whsec_ names the same key', () => {
    const key = Buffer.from(standardSecret(SECRET).slice('whsec_'.length), 'base64').toString();
    assert.equal(key, SECRET);
    assert.ok(standardSecret(SECRET).startsWith('whsec_'));
  });

  it('a bearer call: the exact secret is taken, anything else refused', () => {
    const o = { nowS: NOW, seen: memory() };
    const call = (auth: string) =>
      verifyWebhook({ headers: { authorization: auth }, body: Buffer.alloc(0) }, SECRET, o);
    assert.deepEqual(call(`Bearer ${SECRET}`), { ok: true, kind: 'generic' });
    assert.deepEqual(call(`Bearer ${SECRET}x`), { ok: false, status: 401, why: 'wrong bearer token' });
    assert.deepEqual(call(`bearer ${SECRET}`), { ok: false, status: 401, why: 'wrong bearer token' });
    assert.deepEqual(call(''), { ok: false, status: 401, why: 'wrong bearer token' });
  });

  it('no signature at all: refused', () => {
    assert.deepEqual(
      verifyWebhook({ headers: { 'content-type': 'application/json' }, body }, SECRET, { nowS: NOW, seen: memory() }),
      { ok: false, status: 401, why: 'no signature (X-Hub-Signature-256, webhook-signature or Authorization: Bearer)' },
    );
  });
});

describe('SeenDeliveries', () => {
  it('remembers ids for 72 hours in a root-only file, across restarts', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'seen-')), 'hooks', 'seen.json');
    const t = 1_000_000;
    assert.equal(new SeenDeliveries(file).check('a', t), false);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = new SeenDeliveries(file);
    assert.equal(again.check('a', t + SEEN_MS - 1), true);
    assert.equal(again.check('b', t + SEEN_MS + 1), false);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object), ['b']);
    assert.equal(again.check('a', t + SEEN_MS + 2), false);
  });
});

describe("Caddy's route for webhooks", () => {
  const shop = { app: 'shop', port: 3000, proxy: { port: 8080, domain: 'shop.example.com' } } as never as Parameters<
    typeof withSite
  >[1];
  const hooked = { ...shop, pull: { webhook: '/_slipway/webhook' } };

  it("the path on the app's domain goes to the agent's socket as /hook/APP, its body capped", () => {
    assert.deepEqual(webhookRoute(hooked), {
      '@id': 'slipway_shop_webhook',
      match: [{ host: ['shop.example.com'], path: ['/_slipway/webhook'] }],
      handle: [
        { handler: 'request_body', max_size: 1048576 },
        { handler: 'rewrite', uri: '/hook/shop' },
        { handler: 'reverse_proxy', upstreams: [{ dial: 'unix//run/slipway-agent-hooks.sock' }] },
      ],
      terminal: true,
    });
    assert.equal(webhookRoute(shop), undefined);
  });

  it('sits before the app route, is removed with the setting, and the maintenance page lets it through', () => {
    const routes = (c: ReturnType<typeof withSite>['config']) =>
      c.apps!.http!.servers!.slipway_443!.routes!.map((r) => r['@id']);
    const on = withSite(null, hooked).config;
    assert.deepEqual(routes(on), ['slipway_shop_webhook', 'slipway_shop']);
    assert.equal(withSite(on, hooked).changed, false);
    const off = withSite(on, shop);
    assert.equal(off.changed, true);
    assert.deepEqual(routes(off.config), ['slipway_shop']);
    assert.deepEqual(maintenanceRoute(hooked, 'x').match, [
      { host: ['shop.example.com'], not: [{ path: ['/_slipway/webhook'] }] },
    ]);
    assert.deepEqual(maintenanceRoute(shop, 'x').match, [{ host: ['shop.example.com'] }]);
  });
});

describe('pull.webhook in slipway.yml', () => {
  const yml = (hook: string, proxy = '    proxy: { port: 8080 }\n') =>
    'app: shop\nrun: node s.js\nenvironments:\n  production:\n    hosts: [web1]\n' +
    proxy +
    '    pull:\n      source: { artifacts: /srv/channel }\n' +
    `      public_key: ed25519:${'A'.repeat(43)}\n      webhook: ${hook}\n`;
  const load = loadEnvironment;
  const error = configError;

  it('true is the default path; a path is kept; false is none', () => {
    assert.equal(load(yml('true')).pull?.webhook, '/_slipway/webhook');
    assert.equal(load(yml('/hooks/ci-1.x')).pull?.webhook, '/hooks/ci-1.x');
    assert.equal(load(yml('false')).pull?.webhook, undefined);
  });

  it('refuses a path that is not plain, and a webhook without the proxy, with the place and what to do', () => {
    for (const bad of ['/a/../b', '/a/./b', 'hooks', '/a b', '"/a?x=1"', '/ü', '""', '/a/'])
      assert.match(error(yml(bad)), /pull\.webhook: is not a plain path → write one like \/_slipway\/webhook/, bad);
    assert.match(
      error(yml('true', '')),
      /^slipway\.yml:9:7: pull\.webhook: webhooks reach the agent through Caddy, and this environment has no `proxy`/,
    );
  });
});
