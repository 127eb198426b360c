// Webhooks against a real HTTP server on loopback: order, retries, formats, failures.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { payload, webhookLabel, webhooks } from '../../src/engine/notify.ts';
import { Events } from '../../src/engine/events.ts';

describe('webhooks', () => {
  let server: Server;
  let url = '';
  const got: { path: string; body: Record<string, unknown> }[] = [];
  let failFirst = 0;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (failFirst > 0) {
          failFirst--;
          return void res.writeHead(503).end();
        }
        got.push({ path: req.url!, body: JSON.parse(body) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => server.close());

  const quiet = () => {
    const warnings: string[] = [];
    const r = new Events();
    r.subscribe((e) => e.type === 'message' && e.level === 'warn' && warnings.push(e.text));
    return { r, warnings };
  };

  it('delivers events in order, retrying failures, as JSON or a Slack message, with secrets redacted', async () => {
    got.length = 0;
    failFirst = 2;
    const { r, warnings } = quiet();
    r.addSecrets(['hunter2-secret']);
    const n = webhooks(
      {
        app: 'shop',
        environment: 'production',
        webhooks: [
          { url: `${url}/json`, format: 'json' },
          { url: `${url}/slack`, format: 'slack' },
        ],
      },
      r,
    );
    r.lifecycle('started', { release: 'R1', hosts: ['web1'] });
    r.lifecycle('failed', { release: 'R1', hosts: ['web1'], reason: 'hook printed hunter2-secret' });
    r.lifecycle('rolled_back', { release: 'R0', hosts: ['web1'] });
    await n.flush();
    assert.deepEqual(warnings, []);
    const json = got.filter((g) => g.path === '/json').map((g) => g.body);
    assert.deepEqual(
      json.map((b) => b.event),
      ['started', 'failed', 'rolled_back'],
    );
    assert.equal(json[1]!.reason, 'hook printed [redacted]');
    assert.equal(json[0]!.app, 'shop');
    const slack = got.filter((g) => g.path === '/slack').map((g) => g.body.text as string);
    assert.equal(slack.length, 3);
    assert.match(slack[0]!, /^\*shop\* production: deploy started — R1 on web1\nby /);
  });

  it('a webhook that keeps failing is reported by its origin only and never throws', async () => {
    const { r, warnings } = quiet();
    const n = webhooks(
      {
        app: 'shop',
        environment: 'production',
        webhooks: [{ url: 'http://127.0.0.1:9/T000/secret-token', format: 'json' }],
      },
      r,
    );
    r.lifecycle('succeeded', { release: 'R1', hosts: ['web1'] });
    await n.flush();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^webhook http:\/\/127\.0\.0\.1:9: succeeded not delivered after 3 attempts/);
    assert.ok(!warnings[0]!.includes('secret-token'));
    assert.equal(webhookLabel('https://hooks.slack.com/services/T/B/X'), 'https://hooks.slack.com');
  });

  it('the Slack message says what happened, how long, and how to answer an approval', () => {
    const at = new Date('2026-11-22T10:00:00Z');
    const p = payload(
      { app: 'shop', environment: 'production' },
      'slack',
      'waiting_for_approval',
      { release: 'R2', hosts: ['web1', 'web2'], approve: 'slipway approve R2', reject: 'slipway reject R2' },
      at,
      'ana@laptop',
    ) as { text: string };
    assert.equal(
      p.text,
      '*shop* production: deploy waiting for approval — R2 on web1, web2\napprove: `slipway approve R2` · ' +
        'reject: `slipway reject R2`\nby ana@laptop',
    );
    assert.deepEqual(
      payload(
        { app: 'shop', environment: 'staging' },
        'json',
        'succeeded',
        { release: 'R2', hosts: ['s1'], duration_ms: 1234 },
        at,
        'ana@laptop',
      ),
      {
        event: 'succeeded',
        app: 'shop',
        environment: 'staging',
        time: '2026-11-22T10:00:00.000Z',
        user: 'ana@laptop',
        release: 'R2',
        hosts: ['s1'],
        duration_ms: 1234,
      },
    );
  });
});
