// Pull mode's pure parts and the artifact source: signatures, the channel index, what to deploy next, the config.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { hostEnvironment } from '../../src/engine/deploy.ts';
import type { SlipwayError } from '../../src/errors.ts';
import {
  createSigningKey,
  publicKeyText,
  readSigningKey,
  signArtifact,
  signingKeyPaths,
  verifyArtifact,
} from '../../src/release/signing.ts';
import { channelLocation, fetchArtifact, MAX_INDEX_BYTES, readChannel } from '../../src/sources/artifacts.ts';
import { type ChannelEntry, parseChannel, signedFacts, withEntry } from '../../src/sources/channel.ts';
import { nextPull, type PullFacts } from '../../src/sources/next.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const { privateKey } = generateKeyPairSync('ed25519');
const PUB = publicKeyText(privateKey);
const other = generateKeyPairSync('ed25519').privateKey;
const R1 = '20261201T100000000Z-aaaaaaa';
const R2 = '20261202T100000000Z-bbbbbbb';
const R3 = '20261203T100000000Z-ccccccc';

function entry(release: string, sha256: string, envs = ['production'], key = privateKey): ChannelEntry {
  const e: ChannelEntry = {
    release,
    file: `${release}.tar.gz`,
    sha256,
    built_at: '2026-12-01T00:00:00.000Z',
    signatures: {},
  };
  for (const env of envs) e.signatures[env] = signArtifact(key, signedFacts('shop', env, e));
  return e;
}
const SHA = (c: string) => c.repeat(64);

describe('artifact signatures', () => {
  const facts = signedFacts('shop', 'production', entry(R1, SHA('a')));

  it('verify only for the same key, app, environment and facts', () => {
    const sig = signArtifact(privateKey, facts);
    assert.equal(verifyArtifact(PUB, facts, sig), true);
    assert.equal(verifyArtifact(publicKeyText(other), facts, sig), false, 'another key');
    assert.equal(verifyArtifact(PUB, { ...facts, environment: 'staging' }, sig), false, 'signed for production');
    assert.equal(verifyArtifact(PUB, { ...facts, app: 'blog' }, sig), false);
    assert.equal(verifyArtifact(PUB, { ...facts, sha256: SHA('b') }, sig), false, 'other bytes');
    assert.equal(verifyArtifact(PUB, { ...facts, release: R2 }, sig), false);
    assert.equal(verifyArtifact(PUB, { ...facts, built_at: '2026-12-02T00:00:00.000Z' }, sig), false);
    // a value cannot pass for another by carrying a line break
    const shifted = { ...facts, app: 'shop\nenvironment production', environment: '' };
    assert.equal(verifyArtifact(PUB, shifted, sig), false);
  });

  it('a malformed signature or key is false, never a throw', () => {
    assert.equal(verifyArtifact(PUB, facts, ''), false);
    assert.equal(verifyArtifact(PUB, facts, 'not base64 at all'), false);
    assert.equal(verifyArtifact('ed25519:short', facts, signArtifact(privateKey, facts)), false);
    assert.equal(verifyArtifact(`ed25519:${'A'.repeat(43)}`, facts, signArtifact(privateKey, facts)), false);
  });

  describe('keys', () => {
    let home: string;
    const saved = process.env.XDG_CONFIG_HOME;
    before(() => {
      home = mkdtempSync(path.join(os.tmpdir(), 'slipway-keys-'));
      process.env.XDG_CONFIG_HOME = home;
    });
    after(() => {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
      delete process.env.SLIPWAY_SIGNING_KEY_PRODUCTION;
      rmSync(home, { recursive: true, force: true });
    });

    it('init writes the private key 0600 once; its public key is the one it signs for', () => {
      const k = createSigningKey({ app: 'shop', environment: 'production' });
      assert.equal(k.file, path.join(home, 'slipway', 'keys', 'shop', 'production.signing'));
      assert.equal(statSync(k.file).mode & 0o777, 0o600);
      assert.match(k.publicKey, /^ed25519:[A-Za-z0-9_-]{43}$/);
      assert.throws(() => createSigningKey({ app: 'shop', environment: 'production' }), /exists already/);
      const key = readSigningKey({ app: 'shop', environment: 'production' });
      assert.equal(publicKeyText(key), k.publicKey);
      assert.equal(verifyArtifact(k.publicKey, facts, signArtifact(key, facts)), true);
    });

    it('the variable wins over the file; a key of another kind, or none, is refused by name', () => {
      const paths = signingKeyPaths({ app: 'shop', environment: 'production' });
      assert.equal(paths.variable, 'SLIPWAY_SIGNING_KEY_PRODUCTION');
      process.env.SLIPWAY_SIGNING_KEY_PRODUCTION = other.export({ format: 'pem', type: 'pkcs8' }) as string;
      assert.equal(publicKeyText(readSigningKey({ app: 'shop', environment: 'production' })), publicKeyText(other));
      process.env.SLIPWAY_SIGNING_KEY_PRODUCTION = generateKeyPairSync('x25519')
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString();
      assert.throws(
        () => readSigningKey({ app: 'shop', environment: 'production' }),
        /\$SLIPWAY_SIGNING_KEY_PRODUCTION: not an ed25519 private key/,
      );
      delete process.env.SLIPWAY_SIGNING_KEY_PRODUCTION;
      assert.throws(
        () => readSigningKey({ app: 'shop', environment: 'staging' }),
        (e: SlipwayError) => /no staging signing key/.test(e.message) && /keys init staging/.test(e.hint!),
      );
    });
  });
});

describe('the channel index', () => {
  it('keeps well-formed entries and says what is wrong with the others', () => {
    const good = entry(R1, SHA('a'));
    const text = JSON.stringify({
      app: 'shop',
      releases: [
        good,
        { ...good, file: '../../etc/passwd.tar.gz' },
        { ...good, file: 'sub/x.tar.gz' },
        { ...good, release: '../x' },
        { ...good, sha256: 'abc' },
        { ...good, built_at: 'yesterday' },
        { ...good, signatures: { production: 1 } },
        'text',
      ],
    });
    const { channel, problems } = parseChannel(text, 'index.json', 'shop');
    assert.deepEqual(channel.releases, [good]);
    assert.deepEqual(problems, [
      'index.json: releases[1]: file is not a plain .tar.gz name in the channel',
      'index.json: releases[2]: file is not a plain .tar.gz name in the channel',
      'index.json: releases[3]: release is not a slipway release id',
      'index.json: releases[4]: sha256 is not a sha256 digest',
      'index.json: releases[5]: built_at is not a time',
      'index.json: releases[6]: signatures is not an object of environment → signature',
      'index.json: releases[7]: not an object',
    ]);
    assert.throws(() => parseChannel(text, 'index.json', 'blog'), /the channel of app "shop", not "blog"/);
    assert.throws(() => parseChannel('{', 'index.json', 'shop'), /index.json: not JSON/);
    assert.throws(() => parseChannel('{"app":"shop"}', 'index.json', 'shop'), /not a slipway channel index/);
  });

  it('an added entry replaces one of its release, newest last, the oldest dropped', () => {
    const c = { app: 'shop', releases: [entry(R1, SHA('a')), entry(R3, SHA('c'))] };
    const again = entry(R1, SHA('d'));
    assert.deepEqual(
      withEntry(c, entry(R2, SHA('b'))).releases.map((e) => e.release),
      [R1, R2, R3],
    );
    assert.deepEqual(withEntry(c, again).releases, [again, c.releases[1]]);
    assert.deepEqual(
      withEntry(c, entry(R2, SHA('b')), 2).releases.map((e) => e.release),
      [R2, R3],
    );
  });

  it('names files inside the channel: a URL joins as a folder, with or without its slash', () => {
    assert.equal(
      channelLocation('https://ci.example.com/shop', 'index.json'),
      'https://ci.example.com/shop/index.json',
    );
    assert.equal(channelLocation('https://ci.example.com/shop/', 'a.tar.gz'), 'https://ci.example.com/shop/a.tar.gz');
    assert.equal(channelLocation('/srv/artifacts/shop', 'index.json'), '/srv/artifacts/shop/index.json');
  });
});

describe('what a pulling agent deploys next', () => {
  const base: PullFacts = {
    app: 'shop',
    environment: 'production',
    publicKey: PUB,
    since: R1,
    markedBad: [],
    bad: [],
    cooldownS: 0,
    now: Date.parse('2026-12-04T00:00:00Z'),
  };
  const offered = [entry(R1, SHA('a')), entry(R2, SHA('b')), entry(R3, SHA('c'))];

  it('the newest signed version newer than any the host has had', () => {
    assert.deepEqual(nextPull(offered, base), { do: 'deploy', entry: offered[2] });
    assert.deepEqual(nextPull(offered, { ...base, since: R3 }), {
      do: 'none',
      why: `nothing newer than ${R3}`,
      skipped: [],
    });
    assert.deepEqual(nextPull([], { ...base, since: undefined }), {
      do: 'none',
      why: 'no release is offered',
      skipped: [],
    });
    assert.deepEqual(nextPull(offered, { ...base, since: undefined }), { do: 'deploy', entry: offered[2] });
  });

  it('never a bad one (by release or by digest), nor one marked bad, nor one not signed for here', () => {
    const bad = [{ release: R3, sha256: SHA('c'), why: 'health check failed', at: '' }];
    assert.deepEqual(nextPull(offered, { ...base, bad }), { do: 'deploy', entry: offered[1] });
    const sameBytes = [{ release: 'x', sha256: SHA('c'), why: 'rolled back', at: '' }];
    assert.deepEqual(nextPull(offered, { ...base, bad: sameBytes }), { do: 'deploy', entry: offered[1] });
    const staging = [entry(R2, SHA('b')), entry(R3, SHA('c'), ['staging'])];
    assert.deepEqual(nextPull(staging, base), { do: 'deploy', entry: staging[0] });
    const forged = [entry(R3, SHA('c'), ['production'], other)];
    const r = nextPull(forged, { ...base, markedBad: [R2] });
    assert.equal(r.do, 'none');
    assert.match((r as { why: string }).why, /signature does not verify with pull\.public_key/);
    const all = nextPull([entry(R2, SHA('b')), entry(R3, SHA('c'), [])], { ...base, bad, markedBad: [R2] });
    assert.deepEqual(all, {
      do: 'none',
      why: `nothing newer to deploy: ${R3} is not signed for production; ${R2} is marked bad on the host`,
      skipped: [`${R3} is not signed for production`, `${R2} is marked bad on the host`],
    });
  });

  it('held during its cooldown (a build time in the future counts as now) and outside the windows', () => {
    const fresh = { ...offered[2]!, built_at: '2026-12-03T23:59:00.000Z' };
    fresh.signatures = { production: signArtifact(privateKey, signedFacts('shop', 'production', fresh)) };
    assert.deepEqual(nextPull([fresh], { ...base, cooldownS: 300 }), {
      do: 'hold',
      entry: fresh,
      why: 'cooldown until 2026-12-04T00:04:00.000Z',
      until: Date.parse('2026-12-04T00:04:00Z'),
    });
    assert.deepEqual(nextPull([fresh], { ...base, cooldownS: 60 }), { do: 'deploy', entry: fresh });
    const future = { ...fresh, built_at: '2027-01-01T00:00:00.000Z' };
    future.signatures = { production: signArtifact(privateKey, signedFacts('shop', 'production', future)) };
    assert.equal((nextPull([future], { ...base, cooldownS: 60 }) as { until: number }).until, base.now + 60_000);
    assert.deepEqual(nextPull(offered, { ...base, window: 'outside Mon-Fri 09:00-17:00' }), {
      do: 'hold',
      entry: offered[2],
      why: 'outside the deploy windows: outside Mon-Fri 09:00-17:00',
    });
  });
});

describe('fetching an artifact', () => {
  let dir: string;
  let server: Server;
  let url: string;
  const body = Buffer.from('pretend this is a tar.gz');
  const digest = () => createHash('sha256').update(body).digest('hex');
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-channel-'));
    mkdirSync(path.join(dir, 'channel'));
    writeFileSync(path.join(dir, 'channel', `${R1}.tar.gz`), body);
    writeFileSync(
      path.join(dir, 'channel', 'index.json'),
      JSON.stringify({ app: 'shop', releases: [entry(R1, digest())] }),
    );
    server = createServer((req, res) => {
      if (req.url === '/big/index.json') return res.end(Buffer.alloc(MAX_INDEX_BYTES + 1, 32));
      if (req.url === '/moved/index.json') {
        res.writeHead(302, { location: '/channel/index.json' });
        return res.end();
      }
      const file = path.join(dir, decodeURIComponent(req.url!));
      if (!file.startsWith(dir) || !existsSync(file)) {
        res.writeHead(404);
        return res.end();
      }
      res.end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ['folder', 'http']) {
    it(`from a ${kind}: read the index, copy the artifact, check it against the signed digest`, async () => {
      const source = kind === 'folder' ? path.join(dir, 'channel') : `${url}/channel/`;
      const { channel, problems } = await readChannel(source, 'shop');
      assert.deepEqual(problems, []);
      assert.equal(channel.releases[0]!.release, R1);
      const into = path.join(dir, `into-${kind}`);
      const file = await fetchArtifact(source, channel.releases[0]!, into);
      assert.equal(file, path.join(into, `${R1}.tar.gz`));
      assert.deepEqual(readFileSync(file), body);
      assert.equal(readFileSync(`${file}.sha256`, 'utf8'), `${digest()}  ${R1}.tar.gz\n`);
      assert.equal(statSync(into).mode & 0o777, 0o700);
      // bytes that are not the ones signed: refused, and nothing is left to deploy
      const tampered = { ...channel.releases[0]!, sha256: SHA('e') };
      await assert.rejects(fetchArtifact(source, tampered, into), /checksum mismatch .* changed after it was signed/);
      assert.equal(existsSync(file), false);
      assert.equal(existsSync(`${file}.sha256`), false);
    });
  }

  it('an index too big, a redirect, a missing index: refused with where', async () => {
    await assert.rejects(readChannel(`${url}/big`, 'shop'), /big\/index.json: larger than 1048576 bytes/);
    await assert.rejects(readChannel(`${url}/moved`, 'shop'), /moved\/index.json/);
    await assert.rejects(readChannel(`${url}/none`, 'shop'), /none\/index.json: HTTP 404/);
    await assert.rejects(readChannel(path.join(dir, 'none'), 'shop'), /none\/index.json: not found/);
  });
});

describe('pull in slipway.yml', () => {
  const yml = (pull: string, extra = '') =>
    `app: shop\nrun: node s.js\n${extra}environments:\n  production:\n    hosts: [web1]\n    pull:\n${pull}`;
  const load = loadEnvironment;
  const error = configError;

  it('an artifact channel with its key; interval, cooldown and approval default', () => {
    const cfg = load(yml(`      source: { artifacts: "https://ci.example.com/shop/" }\n      public_key: ${PUB}\n`));
    assert.deepEqual(cfg.pull, {
      source: { artifacts: 'https://ci.example.com/shop/' },
      public_key: PUB,
      interval: 60,
      cooldown: 0,
      approval: false,
    });
    assert.equal(load('app: shop\nrun: x\nenvironments:\n  production:\n    hosts: [web1]\n').pull, undefined);
  });

  it('refuses what it cannot do, with the place and what to do', () => {
    const key = `      public_key: ${PUB}\n`;
    assert.match(
      error(yml(`      source: { image: "registry.example.com/shop", tag: "1.4" }\n${key}`)),
      new RegExp(
        '^slipway\\.yml:7:\\d+: pull\\.source\\.image: an image runs with `runtime: docker`, not systemd → ' +
          'set runtime: docker',
      ),
    );
    assert.match(error(yml('      source: { artifacts: /srv/a }\n')), /pull\.public_key: is needed with `source: /);
    assert.match(
      error(yml(`      source: { artifacts: "https://u:p@ci.example.com/" }\n${key}`)),
      /pull\.source\.artifacts: holds credentials, which would be written on every host/,
    );
    assert.match(error(yml(`      source: { artifacts: "srv/x" }\n${key}`)), /is neither an absolute folder nor a URL/);
    assert.match(error(yml(`      source: { artifacts: "/srv/../etc" }\n${key}`)), /is not a plain folder/);
    assert.match(error(yml(`      source: { artifacts: "ftp://x/" }\n${key}`)), /ftp: is not http\(s\)/);
    assert.match(error(yml(`      source: { artifacts: "/srv/a b" }\n${key}`)), /has a space or control character/);
    assert.match(error(yml(`      source: {}\n${key}`)), /names no source/);
    assert.match(
      error(yml('      source: { artifacts: /srv/a }\n      public_key: "ssh-ed25519 AAAA"\n')),
      /public_key: is not an ed25519 public key → paste the line `slipway keys init ENV` printed/,
    );
    assert.match(error(yml(`      source: { artifacts: /srv/a }\n${key}      interval: 1\n`)), /pull\.interval/);
    assert.match(
      error(yml(`      source: { artifacts: /srv/a }\n${key}`, 'agent: false\n')),
      /^slipway\.yml:7:5: pull: the host's agent deploys what it pulls, and `agent: false` turns it off → remove/,
    );
  });
});

describe("a deploy on the host keeps the env file's secrets", () => {
  const cfg = resolveEnvironment(
    parseConfig(
      'app: shop\nrun: x\nenv: { MODE: prod }\nsecrets: [DB_PASSWORD]\nenvironments:\n  production:\n    hosts: [a]\n',
      'slipway.yml',
    ),
    'production',
  );

  it('plain values from the config, secrets from the file (redacted), nothing else from it', () => {
    const env = hostEnvironment(cfg, { MODE: 'old', DB_PASSWORD: 'from-the-host $x "y"', STALE: 'gone-now' });
    assert.deepEqual(env.vars, { MODE: 'prod', DB_PASSWORD: 'from-the-host $x "y"' });
    assert.deepEqual(env.secretValues, ['from-the-host $x "y"']);
  });

  it('a secret missing from the file is refused with the deploy that writes it', () => {
    assert.throws(
      () => hostEnvironment(cfg, { MODE: 'prod' }),
      (e: SlipwayError) =>
        e.message === "secret DB_PASSWORD: not in the host's env file" &&
        e.hint === 'deploy once from a machine with the production key (slipway deploy production)',
    );
  });
});
