// Pull mode from an image tag: where a repository lives, which tag a policy picks, what to do with a digest (pure),
// the registry client's requests (against an HTTP server here that speaks the registry API and its token
// challenge), and the image source in slipway.yml.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { nextImage } from '../../src/sources/next.ts';
import { listTags, parseImage, pickTag, tagDigest, type ImageRef } from '../../src/sources/registry.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const NOW = Date.parse('2026-12-03T12:00:00Z');

describe('parseImage', () => {
  it('a registry host, Docker Hub, and a loopback registry over plain http as docker allows', () => {
    assert.deepEqual(parseImage('registry.example.com/acme/shop'), {
      base: 'https://registry.example.com',
      path: 'acme/shop',
      name: 'registry.example.com/acme/shop',
    });
    assert.deepEqual(parseImage('nginx'), {
      base: 'https://registry-1.docker.io',
      path: 'library/nginx',
      name: 'nginx',
    });
    assert.deepEqual(parseImage('acme/shop').base, 'https://registry-1.docker.io');
    assert.deepEqual(parseImage('acme/shop').path, 'acme/shop');
    assert.deepEqual(parseImage('localhost:5000/hello'), {
      base: 'http://127.0.0.1:5000',
      path: 'hello',
      name: 'localhost:5000/hello',
    });
    assert.equal(parseImage('127.0.0.1:5000/hello').base, 'http://127.0.0.1:5000');
    assert.equal(parseImage('10.0.0.5:5000/hello').base, 'https://10.0.0.5:5000');
  });
});

describe('pickTag', () => {
  const tags = ['latest', '1.3.9', '1.4.0', 'v1.4.2', '1.5.0-rc.1', '1.5.0-beta', '1.6.0', '2.0.0', 'nightly-1.9.9'];
  it('a fixed tag is the tag; a range takes the highest version in it (a leading v too)', () => {
    assert.equal(pickTag(tags, { tag: 'latest' }), 'latest');
    assert.equal(pickTag(tags, { semver: '^1.4' }), '1.6.0');
    assert.equal(pickTag(tags, { semver: '~1.4' }), 'v1.4.2');
    assert.equal(pickTag(tags, { semver: '>=1.4 <3' }), '2.0.0');
    assert.equal(pickTag(tags, { semver: '^3' }), undefined);
    // pre-releases only when the range asks for them
    assert.equal(pickTag(['1.4.0', '1.5.0-rc.1'], { semver: '^1.4' }), '1.4.0');
  });
  it('include and exclude filter the tags first', () => {
    assert.equal(pickTag(tags, { semver: '^1.4', exclude: '^1\\.6' }), 'v1.4.2');
    assert.equal(pickTag(tags, { semver: '^1.4', exclude: '^1\\.6|^v' }), '1.4.0');
    assert.equal(pickTag(tags, { semver: '^1.4', include: '^v' }), 'v1.4.2');
  });
});

describe('nextImage', () => {
  const facts = (o = {}) => ({
    tag: '1.6.0',
    digest: D2,
    lastDigest: D1,
    firstSeenAt: NOW - 3600_000,
    bad: [],
    cooldownS: 0,
    now: NOW,
    ...o,
  });
  it('a new digest is deployed; the last one is not; a bad one never again', () => {
    assert.deepEqual(nextImage(facts()), { do: 'deploy', approval: false });
    assert.deepEqual(nextImage(facts({ lastDigest: D2 })), {
      do: 'none',
      why: 'nothing newer than 1.6.0@222222222222',
    });
    const bad = [{ image: D2, why: 'health check failed', at: '' }];
    assert.deepEqual(nextImage(facts({ bad })), { do: 'none', why: '1.6.0@222222222222 is bad (health check failed)' });
    // a commit or artifact bad record says nothing about images
    assert.equal(nextImage(facts({ bad: [{ commit: D2, why: 'x', at: '' }] })).do, 'deploy');
  });
  it('the cooldown counts from when the digest was first seen, then the windows', () => {
    assert.deepEqual(nextImage(facts({ firstSeenAt: NOW - 10_000, cooldownS: 60 })), {
      do: 'hold',
      why: '1.6.0@222222222222: cooldown until 2026-12-03T12:00:50.000Z',
      until: NOW + 50_000,
    });
    assert.equal(nextImage(facts({ window: 'outside Sat 10:00-11:00' })).do, 'hold');
  });
});

describe('the registry client', () => {
  let server: Server;
  let ref: ImageRef;
  const seen: { method: string; url: string; auth?: string; accept?: string }[] = [];
  const record = (req: IncomingMessage) =>
    seen.push({
      method: req.method!,
      url: req.url!,
      ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
      ...(req.headers.accept ? { accept: req.headers.accept } : {}),
    });

  before(async () => {
    server = createServer((req, res) => {
      record(req);
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url?.startsWith('/token')) return res.end(JSON.stringify({ token: 'anon-token' }));
      if (req.headers.authorization !== 'Bearer anon-token' && req.headers.authorization !== 'Bearer from-file') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${base}/token",service="registry.test",scope="repository:hello:pull"`,
        });
        return res.end();
      }
      if (req.url === '/v2/hello/tags/list?n=1000') return res.end(JSON.stringify({ name: 'hello', tags: ['1.0.0'] }));
      if (req.url === '/v2/hello/manifests/1.0.0' && req.method === 'HEAD') {
        res.writeHead(200, { 'docker-content-digest': D1 });
        return res.end();
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ref = parseImage(`127.0.0.1:${(server.address() as AddressInfo).port}/hello`);
  });
  after(() => server.close());

  it("answers the registry's token challenge, then HEADs the manifest with the manifest types", async () => {
    seen.length = 0;
    assert.deepEqual(await listTags(ref), ['1.0.0']);
    assert.equal(await tagDigest(ref, '1.0.0'), D1);
    assert.deepEqual(
      seen.map((s) => [s.method, s.url.replace(/\?.*/, (q) => (q.includes('scope') ? '?…' : q)), s.auth ?? '']),
      [
        ['GET', '/v2/hello/tags/list?n=1000', ''],
        ['GET', '/token?…', ''],
        ['GET', '/v2/hello/tags/list?n=1000', 'Bearer anon-token'],
        ['HEAD', '/v2/hello/manifests/1.0.0', ''],
        ['GET', '/token?…', ''],
        ['HEAD', '/v2/hello/manifests/1.0.0', 'Bearer anon-token'],
      ],
    );
    assert.match(seen[1]!.url, /service=registry\.test&scope=repository%3Ahello%3Apull/);
    assert.match(seen[3]!.accept!, /application\/vnd\.oci\.image\.index\.v1\+json/);
  });

  it('a missing tag is refused with the status', async () => {
    await assert.rejects(tagDigest(ref, '9.9.9'), /hello: tag 9\.9\.9: HTTP 404/);
  });
});

describe('an image source in slipway.yml', () => {
  const yml = (source: string, runtime = 'runtime: docker\n') =>
    `app: shop\n${runtime}environments:\n  production:\n    hosts: [web1]\n    pull:\n      source: ${source}\n`;

  it('a tag or a semver range with filters', () => {
    assert.deepEqual(loadEnvironment(yml('{ image: registry.example.com/shop, tag: stable }')).pull?.source, {
      image: 'registry.example.com/shop',
      tag: 'stable',
    });
    const s = loadEnvironment(
      yml('{ image: localhost:5000/shop, semver: "^1.4", exclude: "-rc", token_file: /etc/slipway/token }'),
    ).pull?.source;
    assert.deepEqual(s, {
      image: 'localhost:5000/shop',
      semver: '^1.4',
      exclude: '-rc',
      token_file: '/etc/slipway/token',
    });
  });

  it('refuses what would not work, with what to do', () => {
    const refused: [string, RegExp, string?][] = [
      ['{ image: registry.example.com/shop }', /pull\.source\.image: needs `tag` or `semver`, one of them/],
      ['{ image: shop, tag: a, semver: "^1" }', /needs `tag` or `semver`, one of them/],
      ['{ image: Shop, tag: a }', /is not an image repository/],
      ['{ image: "shop:1.0", tag: a }', /is not an image repository → e\.g\. registry\.example\.com\/shop \(no tag/],
      ['{ image: shop, semver: "one point four" }', /pull\.source\.semver: is not a semver range/],
      ['{ image: shop, semver: "^1", include: "(" }', /pull\.source\.include: is not a regular expression/],
      ['{ image: shop, tag: "a b" }', /pull\.source\.tag: is not an image tag/],
      ['{ image: shop, tag: a, token_file: ../token }', /token_file: must be an absolute path/],
      ['{ git: "git@h:a.git", tag: a }', /pull\.source\.tag: goes with `image`/],
      ['{ image: shop, tag: a }', /pull\.source\.image: an image runs with `runtime: docker`, not systemd/, ''],
    ];
    for (const [source, message, runtime] of refused) assert.match(configError(yml(source, runtime)), message, source);
  });

  it('docker.image: a prebuilt image to run, by tag or digest', () => {
    const cfg = (image: string) =>
      `app: shop\nruntime: docker\ndocker: { image: "${image}" }\nenvironments:\n  production:\n    hosts: [web1]\n`;
    assert.equal(loadEnvironment(cfg(`localhost:5000/hello@${D1}`)).docker.image, `localhost:5000/hello@${D1}`);
    assert.equal(loadEnvironment(cfg('shop:1.4.2')).docker.image, 'shop:1.4.2');
    assert.match(configError(cfg('Shop; rm -rf /')), /docker\.image: is not an image reference/);
  });
});
