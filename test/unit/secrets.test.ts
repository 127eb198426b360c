// Secrets encrypted with age per environment: real encryption, temporary folders.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appEnvironment } from '../../src/engine/deploy.ts';
import { resolveEnvironment, parseConfig } from '../../src/config/load.ts';
import { formatSecrets, parseSecrets, readSecrets, secretsPaths, writeSecrets } from '../../src/secrets/store.ts';
import { Redactor, secretForms } from '../../src/secrets/redact.ts';
import { renderArgv, type SlipwayError } from '../../src/errors.ts';

describe('secrets', () => {
  let dir: string;
  let home: string;
  const saved = process.env.XDG_CONFIG_HOME;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-secrets-app-'));
    home = mkdtempSync(path.join(os.tmpdir(), 'slipway-secrets-home-'));
    process.env.XDG_CONFIG_HOME = home;
  });
  after(() => {
    process.env.XDG_CONFIG_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  const staging = () => ({ dir, app: 'shop', environment: 'staging' });
  const production = () => ({ dir, app: 'shop', environment: 'production' });

  it('NAME=value lines: the value is the rest of the line; a bad line is named by its number only', () => {
    assert.deepEqual(parseSecrets('# comment\nA=1\n\nB_2= spaced = and=more \n', 'f'), {
      A: '1',
      B_2: ' spaced = and=more ',
    });
    assert.equal(formatSecrets({ B: '2', A: 'x=y' }), 'A=x=y\nB=2\n');
    assert.throws(
      () => parseSecrets('A=1\nhunter2\n', 'secrets/prod'),
      (e: Error) => e.message === 'secrets/prod:2: expected NAME=value (NAME: letters, digits and _)',
    );
  });

  it(
    "the first write makes the environment's key (0600, outside the repository) and its recipients file; " +
      'values round-trip',
    async () => {
      const r = await writeSecrets(staging(), { DB_PASSWORD: 'st-pass', API: 'a=b' });
      const p = secretsPaths(staging());
      assert.equal(r.createdKey, p.keyFile);
      assert.equal(statSync(p.keyFile).mode & 0o777, 0o600);
      assert.ok(p.keyFile.startsWith(home), "the key lives in the user's config folder");
      assert.match(readFileSync(p.recipients, 'utf8'), /^age1[0-9a-z]+$/m);
      const text = readFileSync(p.file, 'utf8');
      assert.match(text, /^-----BEGIN AGE ENCRYPTED FILE-----/);
      assert.ok(!text.includes('st-pass'), 'encrypted at rest');
      assert.deepEqual(await readSecrets(staging()), { API: 'a=b', DB_PASSWORD: 'st-pass' });
      assert.equal(
        (await writeSecrets(staging(), { DB_PASSWORD: 'st-2' })).createdKey,
        undefined,
        'the key is made once',
      );
      assert.deepEqual(await readSecrets(staging()), { DB_PASSWORD: 'st-2' });
    },
  );

  it("a staging key cannot decrypt production's secrets", async () => {
    await writeSecrets(production(), { DB_PASSWORD: 'prod-pass' });
    const pp = secretsPaths(production());
    const ps = secretsPaths(staging());
    assert.notEqual(readFileSync(pp.recipients, 'utf8'), readFileSync(ps.recipients, 'utf8'));
    // production's file, read with staging's key in production's place
    process.env[pp.keyVar] = readFileSync(ps.keyFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    try {
      await assert.rejects(
        readSecrets(production()),
        (e: Error) => /cannot decrypt with the production key/.test(e.message) && !e.message.includes('prod-pass'),
      );
    } finally {
      delete process.env[pp.keyVar];
    }
    assert.deepEqual(await readSecrets(production()), { DB_PASSWORD: 'prod-pass' });
  });

  it('a malformed key in $SLIPWAY_AGE_KEY_<ENV> is refused without printing it', async () => {
    const pp = secretsPaths(production());
    const key = readFileSync(pp.keyFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const broken = `${key.slice(0, -3)}${key.slice(-3) === 'QQQ' ? 'PPP' : 'QQQ'}`;
    process.env[pp.keyVar] = broken;
    try {
      await assert.rejects(readSecrets(production()), (e: SlipwayError) => {
        const shown = `${e.message}\n${e.hint}`;
        return (
          e.kind === 'config' &&
          shown.includes(`$${pp.keyVar}`) &&
          !shown.includes(broken.slice(16, 40)) &&
          !shown.includes(broken.slice(-20))
        );
      });
    } finally {
      delete process.env[pp.keyVar];
    }
  });

  it('without the key, the error says where to put it', async () => {
    const p = secretsPaths(production());
    rmSync(p.keyFile);
    await assert.rejects(
      readSecrets(production()),
      (e: Error & { hint?: string }) =>
        e.message.includes(`$SLIPWAY_AGE_KEY_PRODUCTION nor ${p.keyFile}`) && !!e.hint?.includes('chmod 600'),
    );
  });

  it(
    "a deploy's environment takes every secret of the file, and names in `secrets:` from the file first, then " +
      'the shell',
    () => {
      const cfg = resolveEnvironment(
        parseConfig(
          'app: shop\nrun: node s.js\nsecrets: [DB_PASSWORD, TOKEN]\nenv: { MODE: prod }\nenvironments:\n  ' +
            'production:\n    hosts: [web1]\n',
          '/apps/shop/slipway.yml',
        ),
        'production',
      );
      const env = appEnvironment(
        cfg,
        { TOKEN: 'from-shell', DB_PASSWORD: 'shell-loses' },
        { DB_PASSWORD: 'from-file', EXTRA: 'xyzw' },
      );
      assert.deepEqual(env.vars, { MODE: 'prod', DB_PASSWORD: 'from-file', EXTRA: 'xyzw', TOKEN: 'from-shell' });
      assert.deepEqual(env.secretValues.sort(), ['from-file', 'from-shell', 'xyzw']);
      // shorter values could not be told apart from ordinary output: refused, naming the secret only
      assert.throws(
        () => appEnvironment(cfg, { TOKEN: 'abc', DB_PASSWORD: 'long-enough' }),
        (e: SlipwayError) =>
          e.kind === 'config' &&
          /secret TOKEN is shorter than 4 characters →/.test(e.message) &&
          !e.message.includes('abc'),
      );
      assert.throws(
        () => appEnvironment(cfg, {}, {}),
        /secret DB_PASSWORD is not set: not in secrets\/production\.age, nor in this shell's environment/,
      );
    },
  );
});

describe('redaction', () => {
  const planted = [
    'pa"ss\\word',
    'tab\there',
    'dollar$HOME$1',
    "it's-a-secret",
    'ünïcødé-🔑-key',
    'plain-secret-value',
  ];
  const reporter = new Redactor();
  reporter.addSecrets(planted);

  it('finds every planted secret in each form output gives it: raw, JSON, shell-quoted, URL-encoded, base64', () => {
    for (const v of planted) {
      const texts = [
        v,
        JSON.stringify({ v }),
        JSON.stringify(v, null, 2),
        renderArgv(['echo', v]),
        `https://x.test/?t=${encodeURIComponent(v)}`,
        Buffer.from(v).toString('base64'),
      ];
      for (const t of texts) {
        const out = reporter.redact(`before ${t} after`);
        assert.ok(out.includes('[redacted]'), `not redacted: ${t}`);
        for (const form of secretForms(v))
          assert.ok(!out.includes(form), `a form of ${JSON.stringify(v)} survived in ${out}`);
      }
    }
  });

  it('a secret with a tab is found where a log viewer turned the tab into spaces', () => {
    assert.equal(reporter.redact('vault[1]: tab        here done'), 'vault[1]: [redacted] done');
  });

  it('--json output redacts values before encoding them', () => {
    const value = { error: { message: `failed: ${planted[0]}`, nested: [planted[1], { deep: planted[4] }] } };
    assert.equal(
      reporter.redactedJson(value),
      '{"error":{"message":"failed: [redacted]","nested":["[redacted]",{"deep":"[redacted]"}]}}',
    );
  });

  it('ignores values too short to redact (those are refused at deploy time)', () => {
    const r = new Redactor();
    r.addSecrets(['ab', '']);
    assert.equal(r.redact('a tab b'), 'a tab b');
  });
});
