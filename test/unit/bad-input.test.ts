// The bad-input corpus: every value a user (or an attacker's pull request) can put in slipway.yml
// or an artifact that must be refused when the config is loaded, before anything reaches a host.
// Each case names the exact position (the first occurrence of `at` in the file), the key path,
// and requires a hint after "→".
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { decodeConfig, parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { checkArtifactManifest } from '../../src/engine/prepare.ts';
import { SlipwayError } from '../../src/errors.ts';
import { selectFiles } from '../../src/release/manifest.ts';

const BASE = 'app: shop\nrun: node server.js\n';
const HOSTS = 'environments:\n  production:\n    hosts: [web1]\n';

/** A config with `top` at the top level and `env` inside environments.production. */
const config = (top: string, env = '') => `${BASE}${top}${top && !top.endsWith('\n') ? '\n' : ''}${HOSTS}${env}`;

interface Case {
  name: string;
  text: string;
  /** the text at the reported position (its first occurrence) */
  at: string;
  key: string;
  /** what the message must say */
  says: RegExp;
}

function position(text: string, mark: string): string {
  const i = text.indexOf(mark);
  assert.ok(i >= 0, `mark ${JSON.stringify(mark)} not in the config`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

function refusal(text: string, file = 'slipway.yml'): SlipwayError {
  try {
    const loaded = parseConfig(text, file);
    for (const env of Object.keys(loaded.data.environments)) resolveEnvironment(loaded, env);
  } catch (e) {
    if (e instanceof SlipwayError) return e;
    throw e;
  }
  assert.fail('accepted');
}

const top = (name: string, line: string, at: string, key: string, says: RegExp): Case => ({
  name,
  text: config(line),
  at,
  key,
  says,
});
const withRun = (name: string, run: string, says: RegExp): Case => {
  const text = `app: shop\nrun: ${run}\n${HOSTS}`;
  return { name, text, at: run, key: 'run', says };
};
/** A config whose one host is `entry`, refused at the entry itself. */
const hostCase = (name: string, entry: string, says: RegExp): Case => ({
  name,
  text: `${BASE}environments:\n  production:\n    hosts: [${JSON.stringify(entry)}]\n`,
  at: JSON.stringify(entry),
  key: 'environments.production.hosts.0',
  says,
});
const inEnv = (name: string, line: string, at: string, key: string, says: RegExp): Case => ({
  name,
  text: config('', line),
  at,
  key,
  says,
});

const LEAVES = /leaves its folder/;
const RELATIVE = /must be relative to the app folder/;
const CONTROL = /control character/;
const SYSTEM = /is a system folder/;
const SPECIAL = /special character/;

const CASES: Case[] = [
  // paths that leave their folder
  top('shared.dirs with ..', 'shared: { dirs: [../other] }', '../other', 'shared.dirs.0', LEAVES),
  top('shared.dirs with inner ..', 'shared: { dirs: [storage/../../x] }', 'storage/../../x', 'shared.dirs.0', LEAVES),
  top('shared.dirs absolute', 'shared: { dirs: [/etc] }', '/etc', 'shared.dirs.0', RELATIVE),
  top('shared.dirs home', 'shared: { dirs: ["~/x"] }', '"~/x"', 'shared.dirs.0', RELATIVE),
  top(
    'shared.dirs the release itself',
    'shared: { dirs: [.] }',
    '.]',
    'shared.dirs.0',
    /names the release folder itself/,
  ),
  top('shared.dirs ./', 'shared: { dirs: [./] }', './', 'shared.dirs.0', /names the release folder itself/),
  top('shared.dirs glob', 'shared: { dirs: ["logs/*"] }', '"logs/*"', 'shared.dirs.0', /is a glob/),
  top('shared.dirs empty', 'shared: { dirs: [""] }', '""', 'shared.dirs.0', /is empty/),
  top('shared.dirs newline', 'shared: { dirs: ["a\\nb"] }', '"a\\nb"', 'shared.dirs.0', CONTROL),
  top('shared.files with ..', 'shared: { files: [../../etc/passwd] }', '../../etc/passwd', 'shared.files.0', LEAVES),
  top('shared.files absolute', 'shared: { files: [/root/.ssh/id] }', '/root/.ssh/id', 'shared.files.0', RELATIVE),
  top('shared.files glob', 'shared: { files: ["*.env"] }', '"*.env"', 'shared.files.0', /is a glob/),
  top('static_dir escaping', 'static_dir: ../../../../etc', '../../../../etc', 'static_dir', LEAVES),
  top('static_dir absolute', 'static_dir: /etc', '/etc', 'static_dir', RELATIVE),
  top('static_dir empty', 'static_dir: ""', '""', 'static_dir', /is empty/),
  top('include ..', 'include: ["../**"]', '"../**"', 'include.0', LEAVES),
  top('include absolute', 'include: ["/etc/**"]', '"/etc/**"', 'include.0', RELATIVE),
  top('include second item', 'include: ["**", "a/../../b"]', '"a/../../b"', 'include.1', LEAVES),
  top('exclude absolute', 'exclude: [/tmp]', '/tmp', 'exclude.0', RELATIVE),
  top(
    'install.lockfile ..',
    'install: { lockfile: ../package-lock.json }',
    '../package-lock.json',
    'install.lockfile',
    LEAVES,
  ),
  top('install.lockfile absolute', 'install: { lockfile: /etc/shadow }', '/etc/shadow', 'install.lockfile', RELATIVE),
  top('install.paths ..', 'install: { paths: [../node_modules] }', '../node_modules', 'install.paths.0', LEAVES),
  top('install.paths absolute', 'install: { paths: [/usr/lib] }', '/usr/lib', 'install.paths.0', RELATIVE),
  top('docker.dockerfile ..', 'docker: { dockerfile: ../Dockerfile }', '../Dockerfile', 'docker.dockerfile', LEAVES),
  top(
    'docker.dockerfile absolute',
    'docker: { dockerfile: /Dockerfile }',
    '/Dockerfile',
    'docker.dockerfile',
    RELATIVE,
  ),
  top(
    'docker.workdir relative',
    'docker: { workdir: app }',
    'app }',
    'docker.workdir',
    /absolute path in the container/,
  ),
  top('docker.workdir ..', 'docker: { workdir: /app/.. }', '/app/..', 'docker.workdir', /must not contain/),
  inEnv(
    'shared.dirs .. in an environment',
    '    shared: { dirs: [../x] }\n',
    '../x',
    'environments.production.shared.dirs.0',
    LEAVES,
  ),
  inEnv(
    'static_dir .. in an environment',
    '    static_dir: ../x\n',
    '../x',
    'environments.production.static_dir',
    LEAVES,
  ),
  // root
  top('root /', 'root: /', '/\n', 'root', SYSTEM),
  top('root /etc', 'root: /etc', '/etc', 'root', SYSTEM),
  top('root inside /etc', 'root: /etc/apps', '/etc/apps', 'root', SYSTEM),
  top('root /usr', 'root: /usr', '/usr', 'root', SYSTEM),
  top('root inside /usr', 'root: /usr/local', '/usr/local', 'root', SYSTEM),
  top('root /var', 'root: /var', '/var', 'root', SYSTEM),
  top('root /root', 'root: /root', '/root', 'root', SYSTEM),
  top('root /home', 'root: /home', '/home', 'root', SYSTEM),
  top('root /boot/x', 'root: /boot/x', '/boot/x', 'root', SYSTEM),
  top('root /proc', 'root: /proc', '/proc', 'root', SYSTEM),
  top('root /sys/x', 'root: /sys/x', '/sys/x', 'root', SYSTEM),
  top('root /run/x', 'root: /run/x', '/run/x', 'root', SYSTEM),
  top('root /bin', 'root: /bin', '/bin', 'root', SYSTEM),
  top('root /lib64/x', 'root: /lib64/x', '/lib64/x', 'root', SYSTEM),
  top('root trailing slash', 'root: /etc/', '/etc/', 'root', SYSTEM),
  top('root with a newline', 'root: "/srv\\nExecStartPre=/bin/sh -c id"', '"/srv', 'root', SPECIAL),
  top('root with a space', 'root: /srv/my apps', '/srv/my apps', 'root', SPECIAL),
  top('root with a quote', 'root: "/srv/a\\"b"', '"/srv/a', 'root', SPECIAL),
  top('root with $', 'root: /srv/$HOME', '/srv/$HOME', 'root', SPECIAL),
  top('root with %', 'root: /srv/%i', '/srv/%i', 'root', SPECIAL),
  top('root with ..', 'root: /srv/../etc', '/srv/../etc', 'root', /not a plain path/),
  top('root with //', 'root: /srv//x', '/srv//x', 'root', /not a plain path/),
  top('root with unicode', 'root: /srv/ünï', '/srv/ünï', 'root', SPECIAL),
  top('root relative for an SSH host', 'root: srv', 'root:', 'root', /must be an absolute path on the host/),
  top('root empty', 'root: ""', '""', 'root', /expected|too small|empty|>=1/i),
  inEnv('root / in an environment', '    root: /\n', '/\n', 'environments.production.root', SYSTEM),
  // names
  { name: 'app with ..', text: `app: ../etc\nrun: x\n${HOSTS}`, at: '../etc', key: 'app', says: /lowercase letters/ },
  { name: 'app uppercase', text: `app: Shop\nrun: x\n${HOSTS}`, at: 'Shop', key: 'app', says: /lowercase letters/ },
  {
    name: 'app with a space',
    text: `app: "my shop"\nrun: x\n${HOSTS}`,
    at: '"my shop"',
    key: 'app',
    says: /lowercase letters/,
  },
  { name: 'app empty', text: `app: ""\nrun: x\n${HOSTS}`, at: '""', key: 'app', says: /lowercase letters/ },
  { name: 'app unicode', text: `app: shöp\nrun: x\n${HOSTS}`, at: 'shöp', key: 'app', says: /lowercase letters/ },
  {
    name: 'app too long',
    text: `app: a${'b'.repeat(40)}\nrun: x\n${HOSTS}`,
    at: 'abbb',
    key: 'app',
    says: /lowercase letters/,
  },
  top('user with a newline', 'user: "shop\\nroot"', '"shop', 'user', /lowercase letters/),
  top('user root-like', 'user: Root', 'Root', 'user', /lowercase letters/),
  {
    name: 'environment name with a slash',
    text: `${BASE}environments:\n  prod/x:\n    hosts: [a]\n`,
    at: 'prod/x',
    key: 'environments.prod/x',
    says: /the name "prod\/x"/,
  },
  // commands
  withRun('run with a newline', '"node a.js\\nExecStartPre=/bin/id"', /line break or control character/),
  withRun('run empty', '""', /is empty/),
  withRun('run with a carriage return', '"node a.js\\r"', CONTROL),
  withRun('run with NUL', '"node\\0x"', CONTROL),
  withRun('run with an escape character', '"node \\e[2J"', CONTROL),
  top('build with a newline', 'build: ["npm run build\\nrm -rf /"]', '"npm run build', 'build.0', CONTROL),
  top('install.command with a newline', 'install: { command: "npm ci\\nid" }', '"npm ci', 'install.command', CONTROL),
  top('hook with a newline', 'hooks: { before_activate: ["a\\nb"] }', '"a\\nb"', 'hooks.before_activate.0', CONTROL),
  top('health.command with a newline', 'health: { command: "a\\nb" }', '"a\\nb"', 'health.command', CONTROL),
  top('check with a newline', 'checks: [{ run: "a\\nb" }]', '"a\\nb"', 'checks.0.run', CONTROL),
  top('wait_for command with a newline', 'wait_for: [{ command: "a\\nb" }]', '"a\\nb"', 'wait_for.0.command', CONTROL),
  top('verify command with a newline', 'verify: { command: "a\\nb" }', '"a\\nb"', 'verify.command', CONTROL),
  // env
  top('env value with a newline', 'env: { A: "x\\ny" }', '"x\\ny"', 'env.A', /line break or NUL/),
  top('env value with CR', 'env: { A: "x\\ry" }', '"x\\ry"', 'env.A', /line break or NUL/),
  top('env value with NUL', 'env: { A: "x\\0y" }', '"x\\0y"', 'env.A', /line break or NUL/),
  top('env value null', 'env: { A: }', '}', 'env.A', /expected text, a number or true\/false, got null/),
  top('env value a list', 'env: { A: [1] }', '[1]', 'env.A', /got a list/),
  top('env value a mapping', 'env: { A: { b: 1 } }', '{ b: 1 }', 'env.A', /got a mapping/),
  top('env name with a dash', 'env: { MY-VAR: x }', 'MY-VAR', 'env.MY-VAR', /the name "MY-VAR" is not a variable name/),
  top('env name starting with a digit', 'env: { 1A: x }', '1A', 'env.1A', /the name "1A" is not a variable name/),
  top('env name with a space', 'env: { "A B": x }', '"A B"', 'env.A B', /not a variable name/),
  top('env name with unicode', 'env: { NÄME: x }', 'NÄME', 'env.NÄME', /not a variable name/),
  top('env name with =', 'env: { "A=B": x }', '"A=B"', 'env.A=B', /not a variable name/),
  inEnv(
    'env value with a newline in an environment',
    '    env: { A: "x\\ny" }\n',
    '"x\\ny"',
    'environments.production.env.A',
    /line break or NUL/,
  ),
  top('secret name with a dash', 'secrets: [DB-URL]', 'DB-URL', 'secrets.0', /not a variable name/),
  top('secret name empty', 'secrets: [""]', '""', 'secrets.0', /not a variable name/),
  // hosts and ssh
  hostCase('host -oProxyCommand', '-oProxyCommand=id', /not starting with "-"/),
  hostCase('host port 0', 'web1:0', /port "0" is not between 1 and 65535/),
  hostCase('host port 70000', 'web1:70000', /port "70000"/),
  hostCase('host port not a number', 'web1:ssh', /port "ssh"/),
  hostCase('host empty port', 'web1:', /port ""/),
  hostCase('host user with a leading dash', '-l@web1', /user "-l" is not a login name/),
  hostCase('host user empty', '@web1', /user "" is not a login name/),
  hostCase('host with a space', 'web 1', /host "web 1"/),
  hostCase('host with $', '$(id)', /host "\$\(id\)"/),
  hostCase('host empty', '', /host ""/),
  hostCase('host two @', 'a@b@c', /is not a host/),
  {
    name: 'host list empty',
    text: `${BASE}environments:\n  production:\n    hosts: []\n`,
    at: '[]',
    key: 'environments.production.hosts',
    says: /→/,
  },
  top('ssh.user with a leading dash', 'ssh: { user: -oX }', '-oX', 'ssh.user', /not a login name/),
  top('ssh.user with a space', 'ssh: { user: "a b" }', '"a b"', 'ssh.user', /not a login name/),
  top('ssh.port 0', 'ssh: { port: 0 }', '0 }', 'ssh.port', /→/),
  top('ssh.port 65536', 'ssh: { port: 65536 }', '65536', 'ssh.port', /→/),
  top('ssh.port text', 'ssh: { port: "22" }', '"22"', 'ssh.port', /expected number, got string "22" → write a number/),
  top(
    'ssh.config_file missing',
    'ssh: { config_file: no-such-ssh-config }',
    'config_file',
    'ssh.config_file',
    /does not exist → create it/,
  ),
  top('ssh.persist negative', 'ssh: { persist: -1 }', '-1', 'ssh.persist', /→/),
  // numbers and other values
  top('port 0', 'port: 0', '0\n', 'port', /→/),
  top('port 65536', 'port: 65536', '65536', 'port', /→/),
  top('port fractional', 'port: 80.5', '80.5', 'port', /→/),
  top('port text', 'port: "80"', '"80"', 'port', /expected number, got string "80"/),
  top('port null', 'port: ~', '~', 'port', /expected number, got null/),
  top('keep_releases 1', 'keep_releases: 1', '1\n', 'keep_releases', /→/),
  top('health.path without /', 'health: { path: health }', 'health }', 'health.path', /must start with \//),
  top('health.path with a space', 'health: { path: "/he alth" }', '"/he alth"', 'health.path', /no space/),
  top('health.path with a newline', 'health: { path: "/a\\nb" }', '"/a\\nb"', 'health.path', /control character/),
  top('health.status 99', 'health: { status: 99 }', '99', 'health.status', /→/),
  top('health.timeout 0', 'health: { timeout: 0 }', '0 }', 'health.timeout', /→/),
  top('stop_timeout negative', 'stop_timeout: -5', '-5', 'stop_timeout', /→/),
  top('proxy.domain with a slash', 'proxy: { domain: "a.com/x" }', '"a.com/x"', 'proxy.domain', /host name/),
  top('proxy.domain with a space', 'proxy: { domain: "a b.com" }', '"a b.com"', 'proxy.domain', /host name/),
  top('proxy.port 0', 'proxy: { port: 0 }', '0 }', 'proxy.port', /→/),
  top('runtime unknown', 'runtime: nomad', 'nomad', 'runtime', /→/),
  top('kubernetes without a registry', 'runtime: kubernetes', 'runtime', 'kubernetes.registry', /required/),
  top('rollout.limit 0%', 'rollout: { limit: "0%" }', '"0%"', 'rollout.limit', /→/),
  top('windows bad day', 'windows: { allow: ["Mo 09:00-17:00"] }', '"Mo', 'windows.allow.0', /write DAYS HH:MM-HH:MM/),
  top('webhook not a URL', 'webhooks: [{ url: "not a url" }]', '"not a url"', 'webhooks.0.url', /→/),
  top('unknown key', 'helth: { path: / }', 'helth', 'helth', /unknown key → did you mean "health"/),
  top('unknown nested key', 'health: { pth: / }', 'pth', 'health.pth', /unknown key → did you mean "path"/),
  top(
    'wait_for both',
    'wait_for: [{ command: x, http: "http://127.0.0.1/" }]',
    '{ command',
    'wait_for.0',
    /give either/,
  ),
  // whole-file problems
  { name: 'not a mapping', text: '- a\n- b\n', at: '- a', key: '', says: /expected a mapping of settings/ },
  { name: 'invalid YAML', text: 'app: shop\n  run: [\n', at: 'shop', key: '', says: /invalid YAML/ },
  {
    name: 'duplicate key',
    text: 'app: shop\napp: other\n',
    at: 'app: other',
    key: '',
    says: /Map keys must be unique/,
  },
  { name: 'app missing', text: `run: x\n${HOSTS}`, at: 'run', key: 'app', says: /required/ },
  { name: 'no environments', text: BASE, at: 'app', key: 'environments', says: /required/ },
  {
    name: 'empty environments',
    text: `${BASE}environments: {}\n`,
    at: '{}',
    key: 'environments',
    says: /define at least one environment/,
  },
];

describe('bad input: slipway.yml', () => {
  it(`has a corpus of at least 120 refused configs (${CASES.length})`, () => assert.ok(CASES.length >= 120));
  for (const c of CASES) {
    it(c.name, () => {
      const e = refusal(c.text);
      assert.equal(e.kind, 'config');
      assert.equal(e.exitCode, 2);
      const line = e.message.split('\n')[0]!;
      const where = `slipway.yml:${position(c.text, c.at)}: `;
      assert.ok(line.startsWith(where), `expected the position ${where} in: ${line}`);
      if (c.key) assert.ok(line.startsWith(`${where}${c.key}: `), `expected the key ${c.key} in: ${line}`);
      assert.match(line, c.says);
      assert.match(line, / → \S/, `no hint in: ${line}`);
    });
  }

  it('a YAML number or boolean in env stays the text as written', () => {
    const cfg = resolveEnvironment(
      parseConfig(config('env: { V: 1.10, Z: 01234, H: 0x1F, B: true, N: 3000, E: 1e3 }'), 'slipway.yml'),
      'production',
    );
    assert.deepEqual(cfg.env, { V: '1.10', Z: '01234', H: '0x1F', B: 'true', N: '3000', E: '1e3' });
  });

  it('a file that is not UTF-8 is refused at the first bad byte, never silently replaced', () => {
    const bytes = Buffer.concat([
      Buffer.from('app: shop\nrun: node s.js\nenv: { A: "caf'),
      Buffer.from([0xe9]),
      Buffer.from('" }\n'),
    ]);
    assert.throws(
      () => decodeConfig(bytes, 'slipway.yml'),
      (e: SlipwayError) =>
        e.kind === 'config' &&
        e.message === 'slipway.yml:3:15: the file is not UTF-8 text (byte 0xe9) → save it as UTF-8',
    );
    assert.equal(decodeConfig(Buffer.from('app: ünï\n'), 'slipway.yml'), 'app: ünï\n');
  });

  it('a 10 MB file is refused in well under a second, and an alias bomb names the file', () => {
    const start = performance.now();
    assert.throws(
      () => decodeConfig(Buffer.alloc(10 * 1024 * 1024, 0x61), 'slipway.yml'),
      /slipway\.yml:1:1: the file is 10485760 bytes; a slipway\.yml is at most 262144 → /,
    );
    assert.ok(performance.now() - start < 1000);
    const bomb =
      `${BASE}a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, ` +
      `*a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n${HOSTS}`;
    assert.throws(
      () => parseConfig(bomb, 'slipway.yml'),
      (e: SlipwayError) =>
        e.kind === 'config' && /^slipway\.yml:1:1: invalid YAML: .* → write the values out/.test(e.message),
    );
  });

  it('a root for the local target that resolves to a system folder is refused', () => {
    const text = `app: etc\nrun: x\nroot: ../../..\nenvironments:\n  dev:\n    hosts: [local]\n`;
    assert.throws(
      () => resolveEnvironment(parseConfig(text, '/a/b/slipway.yml'), 'dev'),
      /slipway\.yml:3:1: root: "\/" is a system folder →/,
    );
  });

  it('a user the local target cannot switch to is refused; the servers of another environment keep theirs', () => {
    const text =
      'app: shop\nrun: x\nuser: shopsvc\nenvironments:\n  dev:\n    hosts: [local]\n  prod:\n    hosts: [a.example]\n';
    const me = os.userInfo().username;
    assert.throws(
      () => resolveEnvironment(parseConfig(text, 'slipway.yml'), 'dev'),
      (e: SlipwayError) =>
        e.kind === 'config' &&
        e.message ===
          `slipway.yml:5:3: environments.dev: user: the local target runs the app as you (${me}) and cannot switch ` +
            'to shopsvc → set `user` in the environments that have servers rather than at the top level',
    );
    assert.equal(resolveEnvironment(parseConfig(text, 'slipway.yml'), 'prod').user, 'shopsvc');
    const mine = text.replace('user: shopsvc', `user: ${me}`);
    assert.equal(resolveEnvironment(parseConfig(mine, 'slipway.yml'), 'dev').user, me);
  });
});

describe('bad input: artifacts', () => {
  const good = {
    app: 'shop',
    id: '20261122T031500042Z-1a2b3c4',
    sha: '1a2b3c4d',
    subject: 'Fix',
    files: ['server.js', 'lib/a.js'],
  };
  const refusedArtifact = (m: unknown) => {
    try {
      checkArtifactManifest(m, 'shop.tar.gz', 'shop');
    } catch (e) {
      assert.ok(e instanceof SlipwayError && e.kind === 'config');
      assert.match(e.message, /^shop\.tar\.gz: .+ → \S/);
      return e.message;
    }
    assert.fail('accepted');
  };
  it('accepts what slipway build writes', () =>
    assert.deepEqual(checkArtifactManifest(good, 'shop.tar.gz', 'shop'), good));
  const bad: [string, unknown, RegExp][] = [
    [
      'a ../ release id',
      { ...good, id: '../../../etc/cron.d/x' },
      /release id "..\/..\/..\/etc\/cron.d\/x" is not one slipway makes/,
    ],
    [
      'a release id with a newline',
      { ...good, id: '20261122T031500042Z-1a2b3c4\nx' },
      /release id .* is not one slipway makes/,
    ],
    ['an empty release id', { ...good, id: '' }, /release id "" is not one/],
    ['another app', { ...good, app: 'other' }, /artifact of app "other", not "shop"/],
    ['a file with ..', { ...good, files: ['../../etc/passwd'] }, /leaves its folder/],
    ['an absolute file', { ...good, files: ['/etc/passwd'] }, /must be relative/],
    ['a file with a newline', { ...good, files: ['a\nb'] }, /control character/],
    ['an empty file name', { ...good, files: [''] }, /empty file name/],
    ['a file that is not text', { ...good, files: [1] }, /not text/],
    ['no files', { app: 'shop', id: good.id }, /lacks app, id or files/],
    ['not an object', 'hello', /not an object/],
    ['a bad sha', { ...good, sha: '$(id)' }, /git sha "\$\(id\)" is not a commit id/],
  ];
  for (const [name, m, says] of bad) it(`refuses ${name}`, () => assert.match(refusedArtifact(m), says));
});

describe('bad input: the app folder', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  it('a file name with a line break is refused, never silently left out', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-names-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'lib'));
    writeFileSync(path.join(dir, 'lib', 'bad\nname.js'), 'x');
    writeFileSync(path.join(dir, 'ok.js'), 'x');
    await assert.rejects(
      selectFiles(dir, { include: ['**'], exclude: [] }),
      (e: SlipwayError) =>
        e.kind === 'config' &&
        e.message.startsWith('"lib/bad\\nname.js": a file name with a line break') &&
        e.message.includes('→'),
    );
  });
  it('unicode, spaces, quotes and $ in file names ship as they are', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-names-'));
    dirs.push(dir);
    const names = ['ünï cødé.txt', 'it\'s "quoted".txt', '$HOME.txt', ' lead.txt'];
    for (const n of names) writeFileSync(path.join(dir, n), 'x');
    assert.deepEqual(await selectFiles(dir, { include: ['**'], exclude: [] }), [...names].sort());
  });
});

// The CLI itself: usage errors exit 2 and name the option; nothing runs.
describe('bad input: the command line', () => {
  const bin = path.resolve('bin/slipway.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-cli-bad-'));
  writeFileSync(
    path.join(dir, 'slipway.yml'),
    'app: shop\nrun: node s.js\nroot: .deploy\nhealth: { command: "true" }\n' +
      'environments:\n  demo:\n    hosts: [local]\n',
  );
  writeFileSync(path.join(dir, 's.js'), 'setInterval(() => {}, 1000);\n');
  const slipwayHere = (...args: string[]) =>
    execa('node', [bin, ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
  // every path of the deployed app folder with its mode, owner, size and content hash
  const snapshot = () =>
    execa('sh', [
      '-c',
      'cd "$1" && find . \\( -type f -o -type l -o -type d \\) -printf "%p %m %u %s %l\\n" | sort && ' +
        'find . -type f -exec sha256sum {} + | sort',
      'sh',
      path.join(dir, '.deploy/shop'),
    ]).then((r) => r.stdout);
  let deployed = '';
  before(async () => {
    const s = await slipwayHere('setup', 'demo');
    assert.equal(s.exitCode, 0, s.stderr);
    const d = await slipwayHere('deploy', 'demo');
    assert.equal(d.exitCode, 0, d.stderr);
    // the deploy stages the next deploy's tree in the background and the supervisor writes its state: wait for both
    const settled = (snap: string) =>
      /staged\/\d{8}T\d+Z\/s\.js[\s\S]*state\.json/.test(snap) && !snap.includes('.tmp.');
    for (let i = 0; i < 100 && !settled(deployed); i++) {
      await new Promise((r) => setTimeout(r, 100));
      deployed = await snapshot();
    }
  });
  after(async () => {
    await slipwayHere('stop', 'demo');
    rmSync(dir, { recursive: true, force: true });
  });
  const cases: [string, string[], RegExp][] = [
    [
      'history -n abc',
      ['history', 'demo', '-n', 'abc'],
      /option '-n, --lines <n>' argument 'abc' is invalid\. expected a whole number/,
    ],
    ['history -n 0', ['history', 'demo', '-n', '0'], /argument '0' is invalid/],
    ['history -n 1.5', ['history', 'demo', '-n', '1.5'], /argument '1\.5' is invalid/],
    ['logs -n -5', ['logs', 'demo', '-n', '-5'], /argument '-5' is invalid/],
    ['logs -n empty', ['logs', 'demo', '-n', ''], /argument '' is invalid/],
    ['rollback ""', ['rollback', 'demo', ''], /value '' is invalid for argument 'release'/],
    ['rollback ../x', ['rollback', 'demo', '../x'], /value '..\/x' is invalid for argument 'release'/],
    ['rollback with a space', ['rollback', 'demo', 'a b'], /invalid for argument 'release'/],
    ['mark-bad ""', ['mark-bad', 'demo', ''], /invalid for argument 'release'/],
    [
      'promote --release ""',
      ['promote', 'demo', 'demo', '--release', ''],
      /option '--release <id>' argument '' is invalid/,
    ],
    ['an unknown option', ['deploy', 'demo', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['deplyo', 'demo'], /unknown command 'deplyo'/],
    ['a missing argument', ['deploy'], /missing required argument 'env'/],
    [
      '--lock-wait abc',
      ['deploy', 'demo', '--lock-wait', 'abc'],
      /option '--lock-wait <seconds>' argument 'abc' is invalid/,
    ],
    ['--lock-wait -1', ['deploy', 'demo', '--lock-wait', '-1'], /argument '-1' is invalid/],
    ['--limit 0', ['deploy', 'demo', '--limit', '0'], /option '--limit <n\|pct>' argument '0' is invalid/],
    ['--limit 150%', ['deploy', 'demo', '--limit', '150%'], /argument '150%' is invalid/],
    ['--pause x', ['deploy', 'demo', '--pause', 'x'], /option '--pause <seconds>' argument 'x' is invalid/],
    [
      'an environment that does not exist',
      ['deploy', 'prod'],
      /slipway\.yml:5:1: environments: no environment "prod" → environments defined: demo/,
    ],
    ['an empty environment', ['deploy', ''], /no environment "" →/],
    [
      'a missing --artifact',
      ['deploy', 'demo', '--artifact', 'nope.tar.gz'],
      /nope\.tar\.gz: not found → pass the \.tar\.gz/,
    ],
    ['a folder as --artifact', ['deploy', 'demo', '--artifact', '.'], /: is a folder, not an artifact →/],
    ['exec with an empty command', ['exec', 'demo', '--', ''], /exec: the command is empty →/],
    ['maintenance maybe', ['maintenance', 'demo', 'maybe'], /expected "on" or "off", got "maybe"/],
    ['a config that is a folder', ['--config', '.', 'deploy', 'demo'], /\.: is a folder →/],
  ];
  for (const [name, args, says] of cases) {
    it(name, async () => {
      const r = await slipwayHere(...args);
      assert.equal(r.exitCode, 2, `exit code of slipway ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, says);
    });
  }
  it('changed nothing in the deployed app folder: paths, modes, owners and contents as before', async () => {
    assert.match(deployed, /\.\/current /);
    assert.equal(await snapshot(), deployed);
  });
});
