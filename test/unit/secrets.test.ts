// Secrets encrypted with age per environment: real encryption, temporary folders.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appEnvironment } from '../../src/engine/deploy.ts';
import { resolveEnvironment, parseConfig } from '../../src/config/load.ts';
import { formatSecrets, parseSecrets, readSecrets, secretsPaths, writeSecrets } from '../../src/secrets/store.ts';

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
    assert.deepEqual(parseSecrets('# comment\nA=1\n\nB_2= spaced = and=more \n', 'f'), { A: '1', B_2: ' spaced = and=more ' });
    assert.equal(formatSecrets({ B: '2', A: 'x=y' }), 'A=x=y\nB=2\n');
    assert.throws(() => parseSecrets('A=1\nhunter2\n', 'secrets/prod'), (e: Error) => e.message === 'secrets/prod:2: expected NAME=value (NAME: letters, digits and _)');
  });

  it('the first write makes the environment\'s key (0600, outside the repository) and its recipients file; values round-trip', async () => {
    const r = await writeSecrets(staging(), { DB_PASSWORD: 'st-pass', API: 'a=b' });
    const p = secretsPaths(staging());
    assert.equal(r.createdKey, p.keyFile);
    assert.equal(statSync(p.keyFile).mode & 0o777, 0o600);
    assert.ok(p.keyFile.startsWith(home), 'the key lives in the user\'s config folder');
    assert.match(readFileSync(p.recipients, 'utf8'), /^age1[0-9a-z]+$/m);
    const text = readFileSync(p.file, 'utf8');
    assert.match(text, /^-----BEGIN AGE ENCRYPTED FILE-----/);
    assert.ok(!text.includes('st-pass'), 'encrypted at rest');
    assert.deepEqual(await readSecrets(staging()), { API: 'a=b', DB_PASSWORD: 'st-pass' });
    assert.equal((await writeSecrets(staging(), { DB_PASSWORD: 'st-2' })).createdKey, undefined, 'the key is made once');
    assert.deepEqual(await readSecrets(staging()), { DB_PASSWORD: 'st-2' });
  });

  it('a staging key cannot decrypt production\'s secrets', async () => {
    await writeSecrets(production(), { DB_PASSWORD: 'prod-pass' });
    const pp = secretsPaths(production());
    const ps = secretsPaths(staging());
    assert.notEqual(readFileSync(pp.recipients, 'utf8'), readFileSync(ps.recipients, 'utf8'));
    // production's file, read with staging's key in production's place
    process.env[pp.keyVar] = readFileSync(ps.keyFile, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    try {
      await assert.rejects(readSecrets(production()), (e: Error) => /cannot decrypt with the production key/.test(e.message) && !e.message.includes('prod-pass'));
    } finally {
      delete process.env[pp.keyVar];
    }
    assert.deepEqual(await readSecrets(production()), { DB_PASSWORD: 'prod-pass' });
  });

  it('without the key, the error says where to put it', async () => {
    const p = secretsPaths(production());
    rmSync(p.keyFile);
    await assert.rejects(readSecrets(production()), (e: Error & { hint?: string }) => e.message.includes(`$SLIPWAY_AGE_KEY_PRODUCTION nor ${p.keyFile}`) && !!e.hint?.includes('chmod 600'));
  });

  it('a deploy\'s environment takes every secret of the file, and names in `secrets:` from the file first, then the shell', () => {
    const cfg = resolveEnvironment(parseConfig('app: shop\nrun: node s.js\nsecrets: [DB_PASSWORD, TOKEN]\nenv: { MODE: prod }\nenvironments:\n  production:\n    hosts: [web1]\n', '/apps/shop/slipway.yml'), 'production');
    const env = appEnvironment(cfg, { TOKEN: 'from-shell', DB_PASSWORD: 'shell-loses' }, { DB_PASSWORD: 'from-file', EXTRA: 'x' });
    assert.deepEqual(env.vars, { MODE: 'prod', DB_PASSWORD: 'from-file', EXTRA: 'x', TOKEN: 'from-shell' });
    assert.deepEqual(env.secretValues.sort(), ['from-file', 'from-shell', 'x']);
    assert.throws(() => appEnvironment(cfg, {}, {}), /secret DB_PASSWORD is not set: not in secrets\/production\.age, nor in this shell's environment/);
  });
});
