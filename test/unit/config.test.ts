import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deepMerge, parseConfig, parseHost, resolveEnvironment } from '../../src/config/load.ts';
import { closest } from '../../src/text.ts';
import { configReference } from '../../src/config/docs.ts';
import { jsonSchema } from '../../src/config/schema.ts';
import { SlipwayError } from '../../src/errors.ts';

const VALID = `app: shop
run: node server.js
port: 8080
health:
  path: /up
  timeout: 20
env:
  NODE_ENV: production
  WORKERS: 4
secrets: [DATABASE_URL]
environments:
  staging:
    hosts: [deploy@staging.example.com:2222]
    env:
      NODE_ENV: staging
    health:
      timeout: 5
  production:
    hosts: [web1, web2]
    keep_releases: 10
    ssh:
      user: deploy
`;

function configError(text: string): string {
  try {
    parseConfig(text, 'slipway.yml');
  } catch (e) {
    assert.ok(e instanceof SlipwayError);
    assert.equal(e.kind, 'config');
    return e.message;
  }
  assert.fail('expected a configuration error');
}

describe('config', () => {
  it('merges an environment over the top level, objects key by key, with defaults', () => {
    const loaded = parseConfig(VALID, '/apps/shop/slipway.yml');
    const staging = resolveEnvironment(loaded, 'staging');
    assert.equal(staging.app, 'shop');
    assert.equal(staging.appDir, '/srv/shop');
    assert.equal(staging.runtime, 'systemd');
    assert.equal(staging.user, 'shop');
    assert.deepEqual(staging.health, { path: '/up', status: 200, timeout: 5, interval: 0.5, request_timeout: 5 });
    assert.deepEqual(staging.env, { NODE_ENV: 'staging', WORKERS: '4' });
    assert.deepEqual(staging.targets, [
      {
        name: 'deploy@staging.example.com:2222',
        kind: 'ssh',
        host: 'staging.example.com',
        user: 'deploy',
        port: 2222,
        role: 'web',
      },
    ]);
    assert.equal(staging.keep_releases, 5);
    const prod = resolveEnvironment(loaded, 'production');
    assert.equal(prod.keep_releases, 10);
    assert.deepEqual(prod.health.timeout, 20);
    assert.deepEqual(
      prod.targets.map((t) => [t.host, t.user, t.port]),
      [
        ['web1', 'deploy', undefined],
        ['web2', 'deploy', undefined],
      ],
    );
  });

  it('the local target defaults to the supervisor and resolves root from the config folder', () => {
    const cfg = resolveEnvironment(
      parseConfig(
        'app: a\nrun: x\nenvironments:\n  dev:\n    hosts: [local]\n    root: .deploy\n',
        '/home/me/a/slipway.yml',
      ),
      'dev',
    );
    assert.equal(cfg.runtime, 'supervisor');
    assert.equal(cfg.appDir, '/home/me/a/.deploy/a');
    assert.deepEqual(cfg.targets, [{ name: 'local', kind: 'local', role: 'web' }]);
  });

  it('accepts the service user names Debian accepts, _app included, and refuses others at their position', () => {
    const text = (user: string) => `app: a\nrun: x\nuser: "${user}"\nenvironments:\n  p:\n    hosts: [h]\n`;
    for (const good of ['_app', 'www-data_2', 'a'.repeat(32)])
      assert.equal(resolveEnvironment(parseConfig(text(good), 'slipway.yml'), 'p').user, good);
    for (const bad of ['App', 'a$', '-a', '1a', 'a b', 'a'.repeat(33)])
      assert.match(configError(text(bad)), /^slipway\.yml:3:7: user: is not a user name → lowercase letters/);
  });

  it('the self target is this machine as a server: systemd, an absolute root, a proxy allowed', () => {
    const cfg = resolveEnvironment(
      parseConfig(
        'app: a\nrun: x\nproxy: { port: 80 }\nenvironments:\n  prod:\n    hosts: [self]\n',
        '/home/me/a/slipway.yml',
      ),
      'prod',
    );
    assert.equal(cfg.runtime, 'systemd');
    assert.equal(cfg.appDir, '/srv/a');
    assert.deepEqual(cfg.targets, [{ name: 'self', kind: 'self', role: 'web' }]);
    assert.equal(cfg.proxy?.port, 80);
  });

  it('rejects unknown keys with file:line:column, the key path and a suggestion', () => {
    assert.equal(
      configError(
        'app: shop\nrun: x\nhelth:\n  path: /\nenvironments:\n  production:\n    hosts: [a]\n    health:\n      ' +
          'timout: 3\n',
      ),
      'slipway.yml:9:7: environments.production.health.timout: unknown key → did you mean "timeout"?\n' +
        'slipway.yml:3:1: helth: unknown key → did you mean "health"?',
    );
  });

  it('rejects wrong types with the position of the value and what was found', () => {
    assert.equal(
      configError('app: shop\nrun: x\nport: "eighty"\nenvironments:\n  production:\n    hosts: [a]\n'),
      'slipway.yml:3:7: port: expected number, got string "eighty" → write a number without quotes',
    );
    assert.equal(
      configError('app: shop\nenvironments:\n  production:\n    hosts: ["bad host!"]\n'),
      'slipway.yml:4:13: environments.production.hosts.0: host "bad host!" is not a host name or alias ' +
        '(letters, digits, . _ -, not starting with "-") → write `host`, `user@host`, `user@host:port`, an ssh ' +
        'config alias, `local` or `self`',
    );
  });

  it('reports missing required keys and invalid YAML with positions', () => {
    assert.equal(
      configError('run: x\nenvironments:\n  p:\n    hosts: [a]\n'),
      'slipway.yml:1:1: app: required (expected string) → write text (quote it if YAML reads it as something else)',
    );
    assert.equal(
      configError('app: shop\nenvironments:\n  p:\n   hosts: [a]\n  bad\n'),
      'slipway.yml:5:3: invalid YAML: Implicit map keys need to be followed by map values → check the ' +
        'indentation and quoting on that line',
    );
    assert.equal(
      configError('app: shop\napp: two\n'),
      'slipway.yml:2:1: invalid YAML: Map keys must be unique → check the indentation and quoting on that line',
    );
  });

  it('names the environment and the fix when run is missing or the environment is unknown', () => {
    const loaded = parseConfig('app: shop\nenvironments:\n  production:\n    hosts: [a]\n', 'slipway.yml');
    assert.throws(
      () => resolveEnvironment(loaded, 'production'),
      /slipway\.yml:3:3: environments\.production: run: required → add `run: node server\.js`/,
    );
    assert.throws(
      () => resolveEnvironment(loaded, 'prodution'),
      (e: SlipwayError) =>
        e.message ===
        'slipway.yml:2:1: environments: no environment "prodution" → did you mean "production"? environments ' +
          'defined: production',
    );
  });

  it('refuses systemd on the local target and local mixed with hosts', () => {
    const local = (extra: string) =>
      parseConfig(`app: a\nrun: x\nenvironments:\n  dev:\n    hosts: [local${extra}]\n`, 'slipway.yml');
    assert.throws(
      () =>
        resolveEnvironment(
          parseConfig('app: a\nrun: x\nruntime: systemd\nenvironments:\n  dev:\n    hosts: [local]\n', 'slipway.yml'),
          'dev',
        ),
      /local target runs apps with runtime: supervisor/,
    );
    assert.throws(() => resolveEnvironment(local(', web1'), 'dev'), /`local` cannot be mixed/);
  });

  it("roles: each role's hosts get the environment's settings with the role's overrides", () => {
    const cfg = resolveEnvironment(
      parseConfig(
        `app: shop
port: 8080
health: { path: /up }
env: { A: "1" }
environments:
  production:
    run: node server.js
    rollout: { limit: "50%", pause: 2 }
    roles:
      web:
        hosts: [web1, web2]
      worker:
        hosts: [jobs1]
        run: node worker.js
        health: { command: pgrep -f worker.js }
        env: { QUEUE: mail }
`,
        'slipway.yml',
      ),
      'production',
    );
    assert.deepEqual(
      cfg.targets.map((t) => [t.name, t.role]),
      [
        ['web1', 'web'],
        ['web2', 'web'],
        ['jobs1', 'worker'],
      ],
    );
    assert.deepEqual(cfg.rollout, { concurrency: 10, limit: '50%', pause: 2 });
    const web = cfg.roles.web!;
    const worker = cfg.roles.worker!;
    assert.deepEqual([web.run, web.health.path, web.env], ['node server.js', '/up', { A: '1' }]);
    assert.deepEqual(
      [worker.run, worker.health.command, worker.health.path, worker.env],
      ['node worker.js', 'pgrep -f worker.js', '/up', { A: '1', QUEUE: 'mail' }],
    );
    assert.deepEqual(
      worker.targets.map((t) => t.name),
      ['jobs1'],
    );
  });

  it('roles: a host runs one role; a role without a run command is refused by name', () => {
    const env = (body: string) => () =>
      resolveEnvironment(parseConfig(`app: a\nenvironments:\n  p:\n${body}`, 'slipway.yml'), 'p');
    assert.throws(
      env('    run: x\n    hosts: [h1]\n    roles:\n      worker:\n        hosts: [h1]\n'),
      /host h1 is listed twice \(in roles web and worker\)/,
    );
    assert.throws(
      env('    roles:\n      worker:\n        hosts: [h1]\n'),
      /slipway\.yml:5:7: environments\.p\.roles\.worker: run: required →/,
    );
    assert.throws(env('    run: x\n'), /list the environment's `hosts`, or its `roles`/);
    assert.throws(
      env('    run: x\n    hosts: [h1]\n    roles:\n      worker:\n        hosts: [h2]\n        root: /x\n'),
      /slipway.yml:9:9: environments\.p\.roles\.worker\.root: unknown key/,
    );
  });

  it('deepMerge replaces lists and scalars, merges objects', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: 2 }), {
      a: { b: 1, c: [3] },
      d: 2,
    });
  });

  it('parseHost honours ssh defaults only where the entry says nothing', () => {
    assert.deepEqual(parseHost('root@h:2200', { ssh: { user: 'deploy', port: 22, persist: 60 } }), {
      name: 'root@h:2200',
      kind: 'ssh',
      host: 'h',
      user: 'root',
      port: 2200,
      role: 'web',
    });
    assert.deepEqual(parseHost('h', { ssh: { user: 'deploy', port: 22, persist: 60 } }), {
      name: 'h',
      kind: 'ssh',
      host: 'h',
      user: 'deploy',
      port: 22,
      role: 'web',
    });
  });

  it('closest suggests only near misses', () => {
    assert.equal(closest('hlth', ['health', 'hooks']), 'health');
    assert.equal(closest('zzzzzz', ['health', 'hooks']), undefined);
  });

  it('the JSON Schema comes from the same schema: strict objects, descriptions, defaults', () => {
    const schema = jsonSchema() as {
      properties: Record<string, { description?: string; default?: unknown; additionalProperties?: boolean }>;
      additionalProperties: boolean;
      required: string[];
    };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['app', 'environments']);
    assert.equal(schema.properties.keep_releases!.default, 5);
    assert.match(schema.properties.run!.description!, /Command that starts the app/);
    assert.equal(schema.properties.health!.additionalProperties, false);
  });
});

describe('README configuration reference', () => {
  it('is the one generated from the schema (run `npm run docs` after changing the schema)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme
      .slice(readme.indexOf('<!-- config-reference:start -->') + 31, readme.indexOf('<!-- config-reference:end -->'))
      .trim();
    assert.equal(section, configReference());
  });
});
