// The dashboard's pure parts: login links and sessions, what the server lets in (host names, cookies, actions), the
// assets' size, Caddy's route to it, `dashboard:` in slipway.yml, a run's feed lines and how the agent reads feeds,
// and the health samples' file.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { AgentBoard, parsePeers } from '../../src/agent/board.ts';
import { LiveRuns } from '../../src/agent/live.ts';
import { appendSample, cpuPercent, readSamples } from '../../src/agent/samples.ts';
import { feedArgv, feedLine } from '../../src/engine/live.ts';
import { dashboardRoute, maintenanceRoute, withSite } from '../../src/proxy/caddy-config.ts';
import {
  CHALLENGE_TTL_MS,
  LINK_TTL_MS,
  Logins,
  MAX_CHALLENGES,
  SESSION_TTL_MS,
  type Tokens,
  whoProblem,
} from '../../src/web/auth.ts';
import type { AppView, BoardEvent, PeerView, RunView } from '../../src/web/board.ts';
import { pageSite, passkeyList, Passkeys, TooMany } from '../../src/web/passkeys.ts';
import {
  ASSETS,
  cookieName,
  cookieOf,
  hostAllowed,
  PUBLIC_ASSETS,
  parseAction,
  parseCeremony,
} from '../../src/web/server.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';
import { SoftPasskey } from '../helpers/soft-passkey.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'slipway-dashboard-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function logins(now: { t: number }) {
  let stored: Tokens = { links: {}, sessions: {} };
  const l = new Logins(
    () => structuredClone(stored),
    (t) => {
      stored = t;
    },
    () => now.t,
  );
  return { l, stored: () => stored };
}

describe('dashboard logins', () => {
  it('a link is used once, for a session of its role and name; only hashes are kept', () => {
    const now = { t: 1_000_000 };
    const { l, stored } = logins(now);
    const token = l.link('read-only', 'ann@laptop');
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!JSON.stringify(stored()).includes(token));
    const first = l.redeem(token)!;
    assert.equal(first.session.role, 'read-only');
    assert.equal(first.session.who, 'ann@laptop');
    assert.equal(first.session.expires, now.t + SESSION_TTL_MS);
    assert.match(first.session.csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(l.redeem(token), undefined, 'a second use is refused');
    assert.ok(!JSON.stringify(stored()).includes(first.token));
    assert.deepEqual(l.session(first.token), first.session);
    assert.equal(l.session('x'), undefined);
    assert.equal(l.session(undefined), undefined);
  });

  it('links and sessions expire, and expired ones are dropped from the file', () => {
    const now = { t: 5_000 };
    const { l, stored } = logins(now);
    const late = l.link('admin', 'bob');
    now.t += LINK_TTL_MS;
    assert.equal(l.redeem(late), undefined);
    const s = l.redeem(l.link('admin', 'bob'))!;
    now.t += SESSION_TTL_MS - 1;
    assert.ok(l.session(s.token));
    now.t += 1;
    assert.equal(l.session(s.token), undefined);
    l.link('admin', 'carol');
    assert.equal(Object.keys(stored().sessions).length, 0);
    assert.equal(Object.keys(stored().links).length, 1);
  });

  it('logout ends the session', () => {
    const { l } = logins({ t: 1 });
    const s = l.redeem(l.link('admin', 'dan'))!;
    l.logout(s.token);
    assert.equal(l.session(s.token), undefined);
  });

  it('a name is short and printable', () => {
    for (const ok of ['ann@laptop', 'Zoë Müller', 'ci-bot+deploy', '李', 'Zoë (viewer)'])
      assert.equal(whoProblem(ok), undefined, ok);
    for (const bad of ['', ' ann', '<b>', 'a\nb', 'x'.repeat(65), '$(id)', 'a"b', "a'b"])
      assert.ok(whoProblem(bad), JSON.stringify(bad));
  });
});

describe('dashboard passkeys', () => {
  const SITE = { origin: 'https://deploy.example.com', rpID: 'deploy.example.com' };
  /** a login by link, as the passkey's maker */
  const loggedIn = (l: Logins, role: 'admin' | 'read-only', who: string) => l.redeem(l.link(role, who))!;
  const made = async (p: Passkeys, key: SoftPasskey, login: ReturnType<typeof loggedIn>) => {
    const { options, challenge } = await p.addOptions(SITE, login.session, login.token);
    return p.add(SITE, login.session, login.token, challenge, key.create(options));
  };

  it('belong to the name the page is reached under: a domain over HTTPS, localhost, never an address', () => {
    assert.deepEqual(pageSite('Deploy.Example.com', 'https'), SITE);
    assert.deepEqual(pageSite('localhost:8700', undefined), { origin: 'http://localhost:8700', rpID: 'localhost' });
    assert.deepEqual(pageSite('deploy.test:8080', 'http'), { origin: 'http://deploy.test:8080', rpID: 'deploy.test' });
    for (const address of ['127.0.0.1:8700', '[::1]:8700', '', undefined])
      assert.match(pageSite(address, 'https') as string, /^passkeys need the page opened under a name/);
  });

  it('one made after a read-only login signs in again as that name and role; its counter is kept', async () => {
    const { l, stored } = logins({ t: 1_000_000 });
    const p = new Passkeys(l);
    const key = new SoftPasskey(SITE.origin, SITE.rpID);
    const id = await made(p, key, loggedIn(l, 'read-only', 'Zoë (viewer)'));
    assert.equal(id, key.id);
    assert.deepEqual(
      { ...stored().passkeys![id], publicKey: '…' },
      {
        who: 'Zoë (viewer)',
        role: 'read-only',
        rpID: SITE.rpID,
        publicKey: '…',
        counter: 1,
        transports: [],
        added: 1_000_000,
      },
    );
    const { options, challenge } = await p.loginOptions(SITE);
    assert.equal(options.rpId, SITE.rpID);
    const opened = await p.login(SITE, challenge, key.get(options));
    assert.deepEqual([opened.session.who, opened.session.role], ['Zoë (viewer)', 'read-only']);
    assert.deepEqual(l.session(opened.token), opened.session);
    assert.equal(stored().passkeys![id]!.counter, 2);
    assert.deepEqual(stored().challenges, {}, 'each challenge is taken once');
  });

  it('refuses answers for another origin or name, a challenge used twice, expired or for another login', async () => {
    const now = { t: 1_000_000 };
    const { l } = logins(now);
    const p = new Passkeys(l);
    const key = new SoftPasskey(SITE.origin, SITE.rpID);
    const ann = loggedIn(l, 'admin', 'ann');
    const bob = loggedIn(l, 'admin', 'bob');
    const add = await p.addOptions(SITE, ann.session, ann.token);
    await assert.rejects(p.add(SITE, bob.session, bob.token, add.challenge, key.create(add.options)), /expired or was/);
    const again = await p.addOptions(SITE, ann.session, ann.token);
    const elsewhere = key.create(again.options, { origin: 'https://evil.example' });
    await assert.rejects(p.add(SITE, ann.session, ann.token, again.challenge, elsewhere), /origin/i);
    await made(p, key, ann);
    const get = await p.loginOptions(SITE);
    await assert.rejects(p.login(SITE, get.challenge, key.get(get.options, { rpID: 'evil.example' })), /RP ID/i);
    await assert.rejects(p.login(SITE, get.challenge, key.get(get.options)), /expired or was used/);
    const other = { origin: 'https://deploy2.example.com', rpID: 'deploy2.example.com' };
    const there = await p.loginOptions(other);
    await assert.rejects(p.login(other, there.challenge, key.get(there.options)), /not known here/);
    const late = await p.loginOptions(SITE);
    now.t += 3 * 60_000;
    await assert.rejects(p.login(SITE, late.challenge, key.get(late.options)), /expired or was used/);
    const stranger = await p.loginOptions(SITE);
    const unknown = new SoftPasskey(SITE.origin, SITE.rpID);
    await assert.rejects(p.login(SITE, stranger.challenge, unknown.get(stranger.options)), /not known here/);
  });

  it('only so many sign-in challenges wait at once, since anyone may ask for one', async () => {
    const now = { t: 1_000_000 };
    const { l } = logins(now);
    const p = new Passkeys(l);
    for (let i = 0; i < MAX_CHALLENGES; i++) await p.loginOptions(SITE);
    await assert.rejects(p.loginOptions(SITE), TooMany);
    now.t += CHALLENGE_TTL_MS + 1;
    assert.ok((await p.loginOptions(SITE)).challenge, 'expired ones make room');
  });

  it("a read-only login sees only its own; an admin everyone's, on this site", async () => {
    const { l } = logins({ t: 1_000_000 });
    const p = new Passkeys(l);
    const zoe = loggedIn(l, 'read-only', 'zoe');
    const ann = loggedIn(l, 'admin', 'ann');
    await made(p, new SoftPasskey(SITE.origin, SITE.rpID), zoe);
    await made(p, new SoftPasskey(SITE.origin, SITE.rpID), ann);
    const who = (s: typeof zoe, rpID = SITE.rpID) => passkeyList(l.passkeys(), s.session, rpID).map((k) => k.who);
    assert.deepEqual(who(zoe), ['zoe']);
    assert.deepEqual(who(ann).sort(), ['ann', 'zoe']);
    assert.deepEqual(who(ann, 'localhost'), []);
  });

  it("a ceremony's body: its challenge and answer", () => {
    assert.deepEqual(parseCeremony('{"challenge":"c","answer":{"id":"x"}}'), { challenge: 'c', answer: { id: 'x' } });
    for (const body of [
      '',
      'null',
      '{"challenge":"c"}',
      '{"challenge":1,"answer":{}}',
      '{"challenge":"c","answer":null}',
    ])
      assert.equal(typeof parseCeremony(body), 'string', body);
  });
});

describe('the dashboard server', () => {
  it('answers loopback names (the tunnel) and the configured domains only', () => {
    assert.ok(hostAllowed('127.0.0.1:8601', []));
    assert.ok(hostAllowed('localhost:1', []));
    assert.ok(hostAllowed('[::1]:80', []));
    assert.ok(hostAllowed('Deploy.Example.com', ['deploy.example.com']));
    assert.ok(!hostAllowed('evil.example', ['deploy.example.com']));
    assert.ok(!hostAllowed('127.0.0.1.evil.example', []));
    assert.ok(!hostAllowed(undefined, []));
  });

  it('reads its cookie among others; each tunnel port has its own (a browser shares cookies across ports)', () => {
    assert.equal(cookieOf('a=1; slipway_session=abc_-; b=2', 'slipway_session'), 'abc_-');
    assert.equal(cookieOf('xslipway_session=1', 'slipway_session'), undefined);
    assert.equal(cookieOf(undefined, 'slipway_session'), undefined);
    assert.equal(cookieName('127.0.0.1:8601'), 'slipway_session_8601');
    assert.equal(cookieName('deploy.example.com'), 'slipway_session');
    assert.equal(cookieName('deploy.test:8080'), 'slipway_session_8080');
    assert.equal(cookieName(undefined), 'slipway_session');
  });

  it('takes an action only with known fields and plain names', () => {
    assert.deepEqual(parseAction('{"app":"shop","environment":"production","action":"rollback","release":"2026-x"}'), {
      app: 'shop',
      environment: 'production',
      action: 'rollback',
      release: '2026-x',
    });
    assert.equal(parseAction('nope'), 'the body is not JSON');
    assert.equal(parseAction('null'), 'the body is not an object');
    assert.match(parseAction('{"app":"shop","environment":"p","action":"rm -rf"}') as string, /^action: one of /);
    assert.equal(parseAction('{"app":"../x","environment":"p","action":"restart"}'), 'app: a name');
    assert.equal(parseAction('{"app":"shop","environment":"","action":"restart"}'), 'environment: a name');
    assert.equal(
      parseAction('{"app":"shop","environment":"p","action":"rollback","release":"../../etc"}'),
      'release: a release id',
    );
    assert.equal(
      parseAction(`{"app":"shop","environment":"p","action":"reject","reason":"${'x'.repeat(501)}"}`),
      'reason: at most 500 characters',
    );
  });

  it('its page is three files and the sign-in page two more, at most 150 KB gzipped together', () => {
    assert.deepEqual(Object.keys(ASSETS).sort(), ['/', '/app.js', '/style.css']);
    assert.deepEqual(Object.keys(PUBLIC_ASSETS).sort(), ['/login', '/login.js', '/style.css']);
    const files = new Set([...Object.values(ASSETS), ...Object.values(PUBLIC_ASSETS)]);
    const gz = [...files].reduce((n, a) => n + a.gzip.length, 0);
    assert.ok(gz <= 150 * 1024, `${gz} bytes`);
    assert.match(ASSETS['/']!.body.toString(), /<script src="\/app.js" defer><\/script>/);
    assert.match(PUBLIC_ASSETS['/login']!.body.toString(), /<script src="\/login.js" defer><\/script>/);
  });

  it('the page never puts text from the host into markup', () => {
    for (const js of [ASSETS['/app.js']!.body.toString(), PUBLIC_ASSETS['/login.js']!.body.toString()])
      assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });
});

describe("Caddy's route to the dashboard", () => {
  const shop = { app: 'shop', port: 3000, proxy: { port: 8080, domain: 'shop.example.com' } } as never as Parameters<
    typeof withSite
  >[1];
  const withBoard = { ...shop, dashboard: { domain: 'deploy.example.com' } };

  it("the dashboard's name goes to the agent's web socket, unbuffered for the live streams", () => {
    assert.deepEqual(dashboardRoute(withBoard), {
      '@id': 'slipway_shop_dashboard',
      match: [{ host: ['deploy.example.com'] }],
      handle: [
        { handler: 'request_body', max_size: 65536 },
        { handler: 'reverse_proxy', upstreams: [{ dial: 'unix//run/slipway-agent-web.sock' }], flush_interval: -1 },
      ],
      terminal: true,
    });
    assert.equal(dashboardRoute(shop), undefined);
  });

  it('sits before the app route with the webhook, goes with its setting, and passes the maintenance page', () => {
    const routes = (c: ReturnType<typeof withSite>['config']) =>
      c.apps!.http!.servers!.slipway_443!.routes!.map((r) => r['@id']);
    const both = { ...withBoard, pull: { webhook: '/_slipway/webhook' } };
    const on = withSite(null, both).config;
    assert.deepEqual(routes(on), ['slipway_shop_webhook', 'slipway_shop_dashboard', 'slipway_shop']);
    assert.equal(withSite(on, both).changed, false);
    assert.deepEqual(routes(withSite(on, shop).config), ['slipway_shop']);
    const plain = { app: 'shop', port: 3000, proxy: { port: 8080 }, dashboard: { domain: 'deploy.test' } } as never;
    assert.deepEqual(maintenanceRoute(plain, 'x').match, [{ not: [{ host: ['deploy.test'] }] }]);
    // on a plain-HTTP port the dashboard's name turns on no automatic HTTPS (the app's port would speak TLS)
    const plainOn = withSite(null, plain).config.apps!.http!.servers!.slipway_8080!;
    assert.deepEqual(plainOn.automatic_https, { skip: ['deploy.test'] });
    const plainOff = withSite(withSite(null, plain).config, { ...(plain as object), dashboard: undefined } as never);
    assert.equal(plainOff.config.apps!.http!.servers!.slipway_8080!.automatic_https, undefined);
    assert.equal(withSite(null, both).config.apps!.http!.servers!.slipway_443!.automatic_https, undefined);
    assert.deepEqual(maintenanceRoute(both, 'x').match, [
      { host: ['shop.example.com'], not: [{ path: ['/_slipway/webhook'] }, { host: ['deploy.example.com'] }] },
    ]);
  });
});

describe('dashboard: in slipway.yml', () => {
  const yml = (dashboard: string, proxy = '    proxy: { port: 8080, domain: shop.example.com }\n') =>
    `app: shop\nrun: node s.js\nenvironments:\n  production:\n    hosts: [web1]\n${proxy}${dashboard}`;

  it('a domain behind an HTTPS proxy, or a plain-HTTP one when said so', () => {
    assert.deepEqual(loadEnvironment(yml('    dashboard: { domain: deploy.example.com }\n')).dashboard, {
      domain: 'deploy.example.com',
      plain_http: false,
    });
    const plain = yml('    dashboard: { domain: deploy.test, plain_http: true }\n', '    proxy: { port: 8080 }\n');
    assert.equal(loadEnvironment(plain).dashboard?.plain_http, true);
  });

  it('refuses no proxy, plain HTTP unasked, the app domain, and a name that is not one, with the place', () => {
    assert.match(
      configError(yml('    dashboard: { domain: deploy.example.com }\n', '')),
      /^slipway\.yml:6:18: dashboard\.domain: the dashboard is published through Caddy, .*no `proxy` → set `proxy`/,
    );
    assert.match(
      configError(yml('    dashboard: { domain: deploy.test }\n', '    proxy: { port: 8080 }\n')),
      /^slipway\.yml:7:18: dashboard\.domain: without `proxy\.domain` .* → set proxy\.domain .*`plain_http: true`/,
    );
    assert.match(
      configError(yml('    dashboard: { domain: shop.example.com }\n')),
      /dashboard\.domain: the app's own domain → give the dashboard its own name/,
    );
    for (const bad of ['"a b"', '"x/y"', '"$(id)"', '""'])
      assert.match(configError(yml(`    dashboard: { domain: ${bad} }\n`)), /dashboard\.domain/, bad);
  });
});

describe('the grid across hosts', () => {
  const view = (host: string): AppView => ({
    app: 'hello',
    environment: 'production',
    host,
    runtime: 'systemd',
    sync: 'Synced',
    syncReasons: [],
    health: 'Healthy',
    healthReasons: [],
    maintenance: false,
    proxied: true,
    releases: [],
    approvals: [],
  });
  const now = () => new Date().toISOString();

  it('takes the boards a slipway dashboard relays, each checked, and refuses what is not one', () => {
    const peers = [
      { host: 'web2', seenAt: now(), apps: [view('web2')] },
      { host: 'web3', seenAt: now(), error: 'no agent' },
    ];
    assert.deepEqual(parsePeers(JSON.stringify(peers)), peers);
    const refused: [unknown, RegExp][] = [
      [{ host: 'web2' }, /list of at most 100 hosts/],
      [Array.from({ length: 101 }, () => ({ host: 'h', seenAt: now() })), /at most 100/],
      [[{ host: 'web2', seenAt: 'yesterday' }], /a seenAt time/],
      [[{ host: 'x'.repeat(256), seenAt: now() }], /a host name/],
      [[{ host: 'web2', seenAt: now(), apps: [{ ...view('web2'), syncReasons: [1] }] }], /^web2: apps as/],
      [[{ host: 'web2', seenAt: now(), apps: [{ ...view('web2'), releases: undefined }] }], /^web2: apps as/],
      [[{ host: 'web2', seenAt: now(), apps: {} }], /^web2: apps as/],
      [[{ host: 'web2', seenAt: now(), error: 'x'.repeat(501) }], /error is a short text/],
    ];
    for (const [body, why] of refused) assert.match(parsePeers(JSON.stringify(body)) as string, why);
    assert.equal(parsePeers('{'), 'not JSON');
  });

  it('tells the pages when a host changes, not each time it is relayed again', () => {
    const board = new AgentBoard('test', () => undefined);
    const told: BoardEvent[] = [];
    board.subscribe((e) => told.push(e));
    const web2: PeerView = { host: 'web2', seenAt: now(), apps: [view('web2')] };
    board.relay([web2]);
    board.relay([{ ...web2, seenAt: now() }]);
    assert.equal(told.length, 1);
    board.relay([{ ...web2, apps: [{ ...view('web2'), health: 'Degraded' }] }]);
    assert.equal(told.length, 2);
    assert.deepEqual(
      board.peers().map((p) => [p.host, p.apps?.[0]?.health]),
      [['web2', 'Degraded']],
    );
    board.relay([{ host: 'web2', seenAt: new Date(Date.now() - 61_000).toISOString(), error: 'gone' }]);
    assert.deepEqual(board.peers(), [], 'a host not relayed for a minute has left the grid');
  });
});

describe("a run's feed", () => {
  const redact = (t: string) => t.replaceAll('s3cret', '********');

  it('carries phases, messages, records and outcomes with their time, redacted; not commands or output', () => {
    assert.equal(
      feedLine({ type: 'phase', phase: 'lock', title: 'Lock', state: 'start' }, redact, 7),
      '{"type":"phase","phase":"lock","title":"Lock","state":"start","at":7}',
    );
    assert.equal(
      feedLine({ type: 'message', level: 'warn', text: 'token s3cret' }, redact, 7),
      '{"type":"message","level":"warn","text":"token ********","at":7}',
    );
    const failed = feedLine(
      { type: 'phase', phase: 'activate', title: 'Switch', state: 'failed', ms: 3, note: 'PASS=s3cret' },
      redact,
      7,
    );
    assert.equal(
      failed,
      '{"type":"phase","phase":"activate","title":"Switch","state":"failed","ms":3,"note":"PASS=********","at":7}',
    );
    const life = feedLine(
      { type: 'lifecycle', event: 'failed', details: { hosts: ['a'], reason: 'x s3cret' } },
      redact,
      7,
    );
    assert.equal(life, '{"type":"lifecycle","event":"failed","details":{"hosts":["a"],"reason":"x ********"},"at":7}');
    assert.equal(feedLine({ type: 'command', host: 'a', argv: ['echo', 's3cret'] }, redact), undefined);
    assert.equal(feedLine({ type: 'output', line: 's3cret' }, redact), undefined);
  });

  it('is appended on the host by a constant script, the app and token as arguments', () => {
    const argv = feedArgv('shop', '0b6f-x');
    assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    assert.deepEqual(argv.slice(3), ['slipway', '/run/slipway-agent-live', 'shop', '0b6f-x.jsonl']);
    assert.match(argv[2]!, /cat >> "\$1\/\$2\/\$3"\nprintf '\{"type":"end"\}\\n' >> "\$1\/\$2\/\$3"/);
  });

  it('is read by the agent as it grows: phases, then the end; a run waiting for the lock is queued', () => {
    const dir = path.join(scratch, 'live');
    mkdirSync(path.join(dir, 'shop'), { recursive: true });
    const seen: RunView[] = [];
    let holder = 'a';
    const runs = new LiveRuns(
      dir,
      (r) => seen.push(r),
      () => holder,
    );
    const feed = (token: string, lines: object[]) =>
      writeFileSync(path.join(dir, 'shop', `${token}.jsonl`), lines.map((l) => `${JSON.stringify(l)}\n`).join(''), {
        flag: 'a',
      });
    const start = (token: string, time: string) => ({
      type: 'feed',
      token,
      command: 'slipway deploy p',
      user: 'ann',
      machine: 'm',
      time,
    });
    feed('a', [start('a', '2026-01-01T00:00:01Z'), { type: 'phase', title: 'Lock', state: 'done', ms: 1 }]);
    feed('b', [start('b', '2026-01-01T00:00:02Z'), { type: 'phase', title: 'Lock', state: 'start' }]);
    writeFileSync(path.join(dir, 'shop', 'c.jsonl'), '{"type":"feed","tok'); // a line still being written
    runs.scan();
    const byToken = Object.fromEntries(runs.runs().map((r) => [r.token, r]));
    assert.equal(byToken.a!.queued, undefined);
    assert.equal(byToken.a!.user, 'ann@m');
    assert.deepEqual(byToken.a!.events, [{ type: 'phase', title: 'Lock', state: 'done', ms: 1 }]);
    assert.equal(byToken.b!.queued, 1);
    assert.deepEqual(byToken.c!.events, []);
    feed('a', [{ type: 'end' }]);
    holder = 'b';
    seen.length = 0;
    runs.scan();
    assert.deepEqual(
      seen.map((r) => [r.token, r.ended, r.queued]),
      [['a', true, undefined]],
      'only what changed is told',
    );
    assert.equal(runs.runs().find((r) => r.token === 'b')!.queued, undefined, 'b holds the lock now');
  });
});

describe('health samples', () => {
  it('are appended, read back from a time on, and cut back to what is kept', () => {
    const file = path.join(scratch, 'samples', 'shop.jsonl');
    for (let t = 1; t <= 1000; t++) appendSample(file, { t, ms: t % 7, ok: t % 50 !== 0, mem: 1000 + t }, 100);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(statSync(file).size <= 2 * 100 * 64, `${statSync(file).size} bytes`);
    const all = readSamples(file);
    assert.ok(all.length >= 100, `${all.length} kept`);
    assert.deepEqual(
      all.map((s) => s.t),
      Array.from({ length: all.length }, (_, i) => 1001 - all.length + i),
      'the newest, in order',
    );
    assert.deepEqual(readSamples(file, 999), [
      { t: 999, ms: 5, ok: true, mem: 1999 },
      { t: 1000, ms: 6, ok: false, mem: 2000 },
    ]);
    assert.deepEqual(readSamples(path.join(scratch, 'none.jsonl')), []);
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"t":1001,"ms`);
    assert.equal(readSamples(file).at(-1)!.t, 1000, 'a cut line is skipped');
  });

  it('CPU is the share of one core between two readings', () => {
    assert.equal(cpuPercent({ cpuUs: 0, t: 0 }, { cpuUs: 30_000_000, t: 60_000 }), 50);
    assert.equal(cpuPercent({ cpuUs: 5, t: 10 }, { cpuUs: 5, t: 10 }), 0);
  });
});

describe('a run feeding a host that does not take it', () => {
  it('goes on: a feed that hangs or fails is given up after two seconds, its lines written', async () => {
    const { openFeed } = await import('../../src/engine/live.ts');
    const { Events } = await import('../../src/engine/events.ts');
    const got: Record<string, string> = { a: '', b: '' };
    const host = (name: string, answer: 'hang' | 'fail') =>
      ({
        name,
        target: { name, kind: 'ssh', host: name, role: 'web' },
        run: (_argv: readonly string[], o: { input?: NodeJS.ReadableStream }) => {
          o.input?.on('data', (c: Buffer) => {
            got[name] += c.toString();
          });
          return answer === 'hang' ? new Promise(() => {}) : Promise.reject(new Error('connection lost'));
        },
      }) as never;
    const events = new Events();
    const s = { cfg: { app: 'shop', agent: true }, hosts: [host('a', 'hang'), host('b', 'fail')], events } as never;
    const info = { token: 't1', command: 'slipway deploy p', user: 'ann', machine: 'm', time: 'now', pid: 1 };
    const feed = openFeed(s, info);
    events.info('hello');
    const began = Date.now();
    await feed.close();
    const took = Date.now() - began;
    assert.ok(took >= 1900 && took < 4000, `${took} ms`);
    const lines = got
      .a!.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], {
      type: 'feed',
      token: 't1',
      command: 'slipway deploy p',
      user: 'ann',
      machine: 'm',
      time: 'now',
    });
    assert.deepEqual({ ...lines[1], at: 0 }, { type: 'message', level: 'info', text: 'hello', at: 0 });
    assert.equal(lines.length, 2);
  });
});

describe("a release's config diff", () => {
  it('is the shortest edit between the two, changed lines with their context only', async () => {
    const { changedOnly, lineDiff } = await import('../../src/web/diff.ts');
    assert.deepEqual(lineDiff(['a', 'b', 'c'], ['a', 'x', 'c', 'd']), [
      { op: ' ', line: 'a' },
      { op: '+', line: 'x' },
      { op: '-', line: 'b' },
      { op: ' ', line: 'c' },
      { op: '+', line: 'd' },
    ]);
    assert.deepEqual(lineDiff([], []), []);
    assert.deepEqual(lineDiff(['a'], []), [{ op: '-', line: 'a' }]);
    const long = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const changed = changedOnly(
      lineDiff(
        long,
        long.map((l) => (l === 'l10' ? 'L10' : l)),
      ),
      1,
    );
    assert.deepEqual(
      changed.map((d) => `${d.op}${d.line}`),
      [' l9', '+L10', '-l10', ' l11'],
    );
  });
});
