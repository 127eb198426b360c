// What slipway guarantees about secrets, privileges and commands run as the app, checked on a real
// systemd host: planted secrets appear nowhere but the env file; the unit's exposure score; the
// app's user; exec and hooks in the unit's sandbox, with their arguments and exit codes intact.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway } from '../helpers/env.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const skip = testhostUnavailable();
const APP_PORT = 3931;

// one of each form that broke redaction before: quotes, backslashes, a tab, $, unicode
const SECRETS = {
  DB_PASSWORD: 'pa"ss\\w0rd-7f3a',
  API_TOKEN: 'tab\there-$HOME-$1-9c2e',
  SIGNING_KEY: "it's-ünïcødé-🔑-5d1b",
};

function config(sshConfig: string): string {
  return `app: vault
agent: false
run: node leak.js
port: ${APP_PORT}
health:
  path: /health
  timeout: 8
  interval: 0.2
env:
  NODE_ENV: production
secrets: [DB_PASSWORD, API_TOKEN, SIGNING_KEY]
hooks:
  before_activate:
    - test "$$" -gt 0 && echo "hook pid ok" && touch /tmp/hook-was-here
ssh:
  config_file: ${sshConfig}
environments:
  production:
    hosts: [sec1]
`;
}

/** Every regular file under dir (skipping what `skip` names), with its content. */
function filesUnder(dir: string, skipPath: (p: string) => boolean = () => false): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const p = path.join(dir, name);
    if (skipPath(p)) continue;
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile()) out.push([p, readFileSync(p)]);
  }
  return out;
}

describe('security on a systemd host', { skip }, () => {
  let host: TestHost;
  let app: string;
  let cache: string;
  const outputs: [string, string][] = [];
  const run = async (...args: string[]) => {
    const r = await slipway(app, args, { ...SECRETS, XDG_CACHE_HOME: cache });
    outputs.push([`slipway ${args.join(' ')}`, r.all]);
    return r;
  };

  before(() => {
    host = bootHost('sec1', 2231);
    // the app logs its secrets when it starts: the failure path prints those log lines
    app = makeApp(config(host.sshConfig), {
      'leak.js':
        'console.log(process.env.DB_PASSWORD, process.env.API_TOKEN, ' +
        'process.env.SIGNING_KEY);\nrequire("./server.js");\n',
    });
    cache = execFileSync('mktemp', ['-d', path.join(os.tmpdir(), 'slipway-sec-cache-XXXXXX')], {
      encoding: 'utf8',
    }).trim();
  });
  after(() => {
    host?.down();
    for (const d of [app, cache]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('setup and deploys (plain, --json, --verbose, a failing one) succeed', async () => {
    assert.equal((await run('setup', 'production')).exitCode, 0);
    const first = await run('deploy', 'production', '--verbose');
    assert.equal(first.exitCode, 0, first.all);
    change(app, 'second');
    assert.equal((await run('deploy', 'production', '--json')).exitCode, 0);
    assert.equal((await get(`http://127.0.0.1:${APP_PORT}/`)).status, 200);
    // a failure path prints the app's last log lines and writes a failed record: here the app logs its secrets
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config(host.sshConfig).replace('path: /health', 'path: /health\n  status: 418'),
    );
    commit(app, 'an app that logs its secrets and fails its health check');
    for (const flags of [[], ['--json'], ['--verbose']]) {
      const bad = await run('deploy', 'production', ...flags);
      assert.equal(bad.exitCode, 4, bad.all);
    }
    assert.equal((await get(`http://127.0.0.1:${APP_PORT}/`)).status, 200, 'the previous release serves');
    for (const cmd of [
      ['status', 'production', '--json'],
      ['history', 'production', '--json'],
      ['config', 'production'],
      ['releases', 'production'],
    ])
      await run(...cmd);
  });

  it('the env file holds the secrets, 0400, owned by the service user', () => {
    const [mode, owner] = host.exec('stat', '-c', '%a %U', '/srv/vault/.slipway/env').trim().split(' ');
    assert.deepEqual([mode, owner], ['400', 'vault']);
    const text = host.exec('cat', '/srv/vault/.slipway/env');
    assert.ok(text.includes('DB_PASSWORD='), 'the env file has the secret');
  });

  it('no planted secret appears in any output, the history, the journal, or any other file on either side', () => {
    const secretValues = Object.values(SECRETS);
    // each form, and each whitespace-free piece (a log viewer may turn the tab into spaces)
    const forms = secretValues.flatMap((v) => [
      v,
      JSON.stringify(v).slice(1, -1),
      Buffer.from(v).toString('base64'),
      ...v.split(/\s+/).filter((piece) => piece.length >= 6),
    ]);
    const leaks: string[] = [];
    for (const [what, text] of outputs)
      for (const f of forms) if (text.includes(f)) leaks.push(`${what} prints ${JSON.stringify(f)}`);
    assert.ok(
      outputs.some(([, text]) => text.includes('[redacted] [redacted] [redacted]')),
      "the failed deploys showed the app's log lines, redacted",
    );
    // the journal, but for the app's own log lines (this app prints its secrets itself)
    const entries = host
      .exec('journalctl', '--no-pager', '-o', 'json', '--output-fields=MESSAGE,SYSLOG_IDENTIFIER')
      .split('\n')
      .filter(Boolean);
    const journal = entries
      .map((l) => JSON.parse(l) as { MESSAGE?: unknown; SYSLOG_IDENTIFIER?: string })
      .filter((e) => e.SYSLOG_IDENTIFIER !== 'vault')
      .map((e) => String(e.MESSAGE))
      .join('\n');
    assert.ok(journal.includes('slipway'), 'the journal was read');
    for (const f of forms) if (journal.includes(f)) leaks.push(`the journal holds ${JSON.stringify(f)}`);
    // every file under the app folder but the env file, read on the host
    const hostFiles = host.exec(
      'sh',
      '-c',
      'find /srv/vault -path /srv/vault/.slipway/env -prune -o -type f -print0 | xargs -0 cat',
    );
    for (const f of forms) if (hostFiles.includes(f)) leaks.push(`a file under /srv/vault holds ${JSON.stringify(f)}`);
    // this machine: the app's repository, slipway's caches
    for (const [file, content] of [
      ...filesUnder(app, (p) => p.includes(`${path.sep}.git${path.sep}`)),
      ...filesUnder(cache),
    ]) {
      for (const f of forms) if (content.includes(Buffer.from(f))) leaks.push(`${file} holds ${JSON.stringify(f)}`);
    }
    assert.deepEqual(leaks, []);
  });

  it("slipway's local caches are private", () => {
    const root = path.join(cache, 'slipway');
    assert.equal(statSync(root).mode & 0o777, 0o700);
    for (const [file] of filesUnder(root))
      assert.equal(statSync(file).mode & 0o077, 0, `${file} is readable by others`);
  });

  it("the unit's systemd-analyze security exposure is at most 3.0 (OK), and the app runs as its user", () => {
    const report = host.exec('systemd-analyze', 'security', '--no-pager', 'slipway-vault.service');
    const score = Number(/Overall exposure level for slipway-vault\.service: ([\d.]+)/.exec(report)?.[1]);
    assert.ok(score > 0 && score <= 3.0, `exposure ${score}`);
    const pid = host.exec('systemctl', 'show', '-p', 'MainPID', '--value', 'slipway-vault.service').trim();
    assert.equal(host.exec('ps', '-o', 'user=,comm=', '-p', pid).trim().replace(/\s+/g, ' '), 'vault node');
    assert.notEqual(pid, '0');
  });

  it('the app listens on loopback only', () => {
    const pid = host.exec('systemctl', 'show', '-p', 'MainPID', '--value', 'slipway-vault.service').trim();
    const listeners = host
      .exec('ss', '-Htlnp')
      .split('\n')
      .filter((l) => l.includes(`pid=${pid},`));
    assert.ok(listeners.length > 0, 'the app listens');
    for (const l of listeners) assert.match(l.split(/\s+/)[3]!, /^(127\.0\.0\.1|\[::1\]):/, l);
  });

  it("hooks ran in the unit's sandbox, with $$ reaching the shell", () => {
    const history = host.exec('cat', '/srv/vault/.slipway/history.jsonl');
    assert.equal(history.split('\n').filter((l) => l.includes('"event":"succeeded"')).length, 2, history);
    assert.equal(host.exec('sh', '-c', 'test -e /tmp/hook-was-here && echo leaked || echo private').trim(), 'private');
  });

  it('exec keeps every argument as typed, returns the exit code, and runs in the sandbox as the app user', async () => {
    const node = await run('exec', 'production', '--', 'node', '-e', 'console.log(1 + 1)');
    assert.equal(node.exitCode, 0, node.all);
    assert.equal(node.stdout.trim(), '2');
    const args = await run('exec', 'production', '--', 'printf', '[%s]', 'a b', '$HOME', "it's", '"q"', 'ünï', '');
    assert.equal(args.stdout, '[a b][$HOME][it\'s]["q"][ünï][]');
    const code = await run('exec', 'production', '--', 'sh', '-c', 'exit 7');
    assert.equal(code.exitCode, 7);
    const line = await run('exec', 'production', 'test "$$" -gt 0 && id -un && echo $PORT | wc -c');
    assert.equal(line.stdout.trim(), `vault\n${String(APP_PORT).length + 1}`);
    const tmp = await run('exec', 'production', '--', 'sh', '-c', 'touch /tmp/exec-was-here && ls /tmp');
    assert.equal(tmp.exitCode, 0, tmp.all);
    assert.equal(tmp.stdout.trim(), 'exec-was-here');
    assert.equal(host.exec('sh', '-c', 'test -e /tmp/exec-was-here && echo leaked || echo private').trim(), 'private');
    const write = await run('exec', 'production', '--', 'sh', '-c', 'touch /srv/vault/current/x');
    assert.notEqual(write.exitCode, 0, 'the release is read-only to the app');
  });

  it('the app may set its own user again (as Gunicorn does for its workers), never become root', async () => {
    const setuid = (uid: string) =>
      run('exec', 'production', '--', 'node', '-e', `process.setuid(${uid}); console.log(process.getuid())`);
    const own = await setuid('process.getuid()');
    assert.equal(own.exitCode, 0, own.all);
    assert.equal(own.stdout.trim(), host.exec('id', '-u', 'vault').trim());
    const root = await setuid('0');
    assert.notEqual(root.exitCode, 0, root.all);
    assert.match(root.all, /EPERM/);
  });
});
