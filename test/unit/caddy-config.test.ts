import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonical, maintenanceRoute, withSite } from '../../src/proxy/caddy-config.ts';
import { slotOfPort, slotPort } from '../../src/runtime/slots.ts';
import { adminArgv } from '../../src/proxy/caddy.ts';
import type { ResolvedConfig } from '../../src/config/load.ts';
import { staticRuntime } from '../../src/runtime/static.ts';

const shop = {
  app: 'shop',
  port: 3000,
  proxy: { port: 8080, drain_timeout: 30 },
};

describe('Caddy config', () => {
  it("adds the app's site with its upstream on slot a", () => {
    assert.deepEqual(withSite(null, shop), {
      changed: true,
      config: {
        apps: {
          http: {
            servers: {
              slipway_8080: {
                listen: [':8080'],
                routes: [
                  {
                    '@id': 'slipway_shop',
                    handle: [
                      {
                        handler: 'reverse_proxy',
                        '@id': 'slipway_shop_proxy',
                        upstreams: [{ dial: '127.0.0.1:3000' }],
                      },
                    ],
                    terminal: true,
                  },
                ],
              },
            },
          },
        },
      },
    });
  });

  it("keeps other apps' sites and the live upstream, and reports no change when nothing differs", () => {
    const other = {
      '@id': 'slipway_blog',
      match: [{ host: ['blog.example.com'] }],
      handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '127.0.0.1:5000' }] }],
    };
    const first = withSite(
      { apps: { http: { servers: { slipway_443: { listen: [':443'], routes: [other] } } } } },
      shop,
    ).config;
    const route = first.apps!.http!.servers!.slipway_8080!.routes![0] as {
      handle: { upstreams: { dial: string }[] }[];
    };
    route.handle[0]!.upstreams = [{ dial: '127.0.0.1:3001' }]; // slot b is live
    const sortedLikeCaddy = JSON.parse(canonical(first));
    const again = withSite(sortedLikeCaddy, shop);
    assert.equal(again.changed, false);
    assert.deepEqual(again.config.apps!.http!.servers!.slipway_443!.routes, [other]);
  });

  it("drops Debian's welcome site that Caddyfile mode left in the autosave, and nothing else", () => {
    const welcome = {
      listen: [':80'],
      routes: [
        {
          handle: [
            { handler: 'vars', root: '/usr/share/caddy' },
            { handler: 'file_server', hide: ['/etc/caddy/Caddyfile'] },
          ],
        },
      ],
    };
    const mine = { listen: [':81'], routes: [{ handle: [{ handler: 'file_server', root: '/srv/www' }] }] };
    const servers = withSite({ apps: { http: { servers: { srv0: welcome, srv1: mine } } } }, shop).config.apps!.http!
      .servers!;
    assert.deepEqual(Object.keys(servers).sort(), ['slipway_8080', 'srv1']);
  });

  it('moves the site when its domain changes, keeping the upstream', () => {
    const onPort = withSite(null, shop).config;
    const moved = withSite(onPort, { ...shop, proxy: { ...shop.proxy, domain: 'shop.example.com' } }).config;
    assert.deepEqual(Object.keys(moved.apps!.http!.servers!), ['slipway_443']);
    assert.deepEqual(moved.apps!.http!.servers!.slipway_443!.routes![0], {
      '@id': 'slipway_shop',
      match: [{ host: ['shop.example.com'] }],
      handle: [{ handler: 'reverse_proxy', '@id': 'slipway_shop_proxy', upstreams: [{ dial: '127.0.0.1:3000' }] }],
      terminal: true,
    });
  });

  const site = (spa: boolean, immutable = ['/assets/*']) =>
    staticRuntime.filesServed!({
      app: 'shop',
      appDir: '/srv/shop',
      static_dir: 'dist',
      spa,
      immutable,
    } as ResolvedConfig);
  const noCache = { handler: 'headers', response: { set: { 'Cache-Control': ['no-cache'] } } };
  const hashedForGood = {
    handler: 'subroute',
    routes: [
      {
        match: [{ path: ['/assets/*'] }],
        handle: [
          { handler: 'headers', response: { set: { 'Cache-Control': ['public, max-age=31536000, immutable'] } } },
        ],
      },
    ],
  };
  const fileServer = {
    handler: 'file_server',
    '@id': 'slipway_shop_proxy',
    root: '/srv/shop/current/dist',
    precompressed: { br: {}, gzip: {} },
    precompressed_order: ['br', 'gzip'],
  };

  it('a static site is a file server on current/<static_dir>: hashed assets immutable, the rest revalidated', () => {
    assert.deepEqual(site(false), {
      root: '/srv/shop/current/dist',
      spa: false,
      immutable: ['/assets/*'],
      accessLog: '/var/log/caddy/slipway-shop.access.log',
    });
    const route = withSite(null, shop, site(false)).config.apps!.http!.servers!.slipway_8080!.routes![0];
    assert.deepEqual(route!.handle, [noCache, hashedForGood, fileServer]);
    const none = withSite(null, shop, site(false, [])).config.apps!.http!.servers!.slipway_8080!.routes![0];
    assert.deepEqual(none!.handle, [noCache, fileServer]);
  });

  it('a single-page app answers /index.html for a path that is no file, but not under the hashed assets', () => {
    const route = withSite(null, shop, site(true)).config.apps!.http!.servers!.slipway_8080!.routes![0];
    assert.deepEqual(route!.handle, [
      noCache,
      hashedForGood,
      {
        handler: 'subroute',
        routes: [
          {
            match: [
              {
                file: { root: '/srv/shop/current/dist', try_files: ['{http.request.uri.path}', '/index.html'] },
                not: [{ path: ['/assets/*'] }],
              },
            ],
            handle: [{ handler: 'rewrite', uri: '{http.matchers.file.relative}' }],
          },
        ],
      },
      fileServer,
    ]);
  });

  it("a static site's access log is its own file, left out of Caddy's default log; other logs are kept", () => {
    const before = { logging: { logs: { default: { exclude: ['http.log.access.other'] }, other: { level: 'INFO' } } } };
    const { config } = withSite(before, shop, site(false));
    assert.deepEqual(config.apps!.http!.servers!.slipway_8080!.logs, { default_logger_name: 'slipway_shop' });
    assert.deepEqual(config.logging, {
      logs: {
        default: { exclude: ['http.log.access.other', 'http.log.access.slipway_shop'] },
        other: { level: 'INFO' },
        slipway_shop: {
          writer: {
            output: 'file',
            filename: '/var/log/caddy/slipway-shop.access.log',
            roll_size_mb: 10,
            roll_keep: 3,
          },
          encoder: { format: 'json' },
          include: ['http.log.access.slipway_shop'],
        },
      },
    });
    assert.equal(withSite(config, shop, site(false)).changed, false, 'a second write changes nothing');
    const onDomain = withSite(null, { ...shop, proxy: { ...shop.proxy, domain: 'shop.example.com' } }, site(false));
    assert.deepEqual(onDomain.config.apps!.http!.servers!.slipway_443!.logs, {
      logger_names: { 'shop.example.com': 'slipway_shop' },
    });
  });

  it('the maintenance page escapes its message', () => {
    const r = maintenanceRoute(shop, 'back at <10:00> & "soon"') as { handle: { status_code: number; body: string }[] };
    assert.equal(r.handle[0]!.status_code, 503);
    assert.match(r.handle[0]!.body, /<p>back at &#60;10:00&#62; &#38; &#34;soon&#34;<\/p>/);
  });

  it('slots map to port and port + 1', () => {
    assert.deepEqual(
      [slotPort(shop, 'a'), slotPort(shop, 'b'), slotOfPort(shop, 3001), slotOfPort(shop, 9)],
      [3000, 3001, 'b', undefined],
    );
  });

  it("admin requests are curl argv on the host's loopback, bodies on stdin", () => {
    assert.deepEqual(adminArgv('PATCH', '/id/slipway_shop_proxy/upstreams', true), [
      'curl',
      '-sS',
      '--max-time',
      '10',
      '-X',
      'PATCH',
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      '@-',
      '-w',
      '\n%{http_code}',
      'http://localhost:2019/id/slipway_shop_proxy/upstreams',
    ]);
  });
});
