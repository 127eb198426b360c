// Pull mode from a git branch on a real host: a bare repository served over SSH (a `git` user with git-shell on the
// host itself), fetched by the agent with the deploy key setup made and the pinned host key. Each new commit is
// deployed from its own files with the engine's deploy; a failing one is rolled back, remembered and not tried
// again; a newer good one goes live; a force-pushed branch waits for an approval.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, git, makeApp, slipway, within } from '../helpers/env.ts';
import { startLoad } from '../helpers/load.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const SITE = 'http://10.77.93.2:8080';

describe('pull mode from a git branch', { skip: testhostUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  const run = (...args: string[]) => slipway(app, args);
  const publish = (...args: string[]) =>
    execGit('push', '-q', ...args, 'origin', 'main').then((r) => assert.equal(r.exitCode, 0, r.all));
  const execGit = async (...args: string[]) => {
    const { execa } = await import('execa');
    return execa('git', args, {
      cwd: app,
      reject: false,
      all: true,
      env: { GIT_SSH_COMMAND: `ssh -F ${host.sshConfig}` },
    });
  };
  const pullMemory = () =>
    JSON.parse(host.exec('curl', '-s', '--unix-socket', '/run/slipway-agent.sock', 'http://agent/status')).apps.hello
      ?.pull as { next?: string; bad: { commit?: string; why: string }[]; offered?: string; tip?: string } | undefined;
  const wake = async () => assert.equal((await run('agent', 'pull', 'production')).exitCode, 0);
  // what visitors see, through Caddy
  const served = async () => (await get(SITE)).body;
  const head = () => git(app, 'rev-parse', 'HEAD').trim();
  const history = () =>
    host
      .exec('cat', '/srv/hello/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; release: string; user: string; sha?: string });

  before(async () => {
    host = bootHost('gitpull1', 22, { address: '10.77.93.2', layer: SERVER_LAYER });
    host.exec('useradd', '-m', '-s', '/usr/bin/git-shell', 'git');
    host.exec('git', 'init', '-q', '--bare', '/srv/git/hello.git');
    // root pushes into it, git (the deploy key's user) reads it
    host.exec('git', 'config', '--system', '--add', 'safe.directory', '/srv/git/hello.git');
    const hostKey = host.exec('cat', '/etc/ssh/ssh_host_ed25519_key.pub').trim().split(/\s+/).slice(0, 2).join(' ');
    app = makeApp(
      `app: hello\nrun: node server.js\nport: 3975\nhealth: { path: /health, timeout: 4, interval: 0.2 }\n` +
        'proxy: { port: 8080, drain_timeout: 1 }\n' +
        `ssh: { config_file: ${host.sshConfig} }\nenvironments:\n  production:\n    hosts: [gitpull1]\n` +
        `    pull:\n      source:\n        git: ssh://git@10.77.93.2/srv/git/hello.git\n        branch: main\n` +
        `        host_key: ${hostKey}\n      interval: 600\n`,
    );
    git(app, 'branch', '-M', 'main');
    git(app, 'remote', 'add', 'origin', 'gitpull1:/srv/git/hello.git');
    change(app, 'version one');
    await publish();
    const s = await run('setup', 'production');
    assert.equal(s.exitCode, 0, s.all);
    const key = /deploy key for \S+ \(add it read-only\): (ssh-ed25519 \S+ slipway-agent hello@gitpull1)/.exec(s.all);
    assert.ok(key, s.all);
    host.exec('sh', '-c', `install -d -o git -m 700 ~git/.ssh && echo '${key[1]}' > ~git/.ssh/authorized_keys`);
    assert.equal(host.exec('stat', '-c', '%a %U', '/var/lib/slipway-agent/git/hello/id_ed25519').trim(), '600 root');
    const d = await run('deploy', 'production');
    assert.equal(d.exitCode, 0, d.all);
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('the commit served is not deployed again; a new one is, by the agent, with no failed request', async (t) => {
    const v1 = head();
    await wake();
    await within(20_000, () => pullMemory()?.next === `nothing newer than ${v1.slice(0, 12)}`);
    assert.equal(pullMemory()?.offered, `${v1.slice(0, 12)} "version one"`);
    change(app, 'version two');
    await publish();
    const load = startLoad(SITE);
    t.after(() => load.stop());
    await wake();
    await within(30_000, async () => /^version two \(release \S+\)\n$/.test(await served()));
    await new Promise((done) => setTimeout(done, 500));
    const result = await load.stop();
    assert.equal(result.failed, 0, JSON.stringify({ ...result, bodies: [...result.bodies] }));
    assert.deepEqual([...result.bodies].sort(), ['version one', 'version two']);
    const v2 = head();
    assert.ok((await served()).includes(v2.slice(0, 7)));
    // the new release serves before the deploy's last step records it
    const succeeded = () => history().find((h) => h.event === 'succeeded' && h.sha === v2);
    await within(10_000, () => succeeded() !== undefined);
    assert.equal(succeeded()!.user, 'slipway-agent');
  });

  it('a failing commit is rolled back, remembered, not tried again; a newer good one goes live', async () => {
    const good = readFileSync(path.join(app, 'server.js'), 'utf8');
    writeFileSync(path.join(app, 'server.js'), "console.error('broken on purpose'); process.exit(1);\n");
    commit(app, 'broken');
    const broken = head();
    await publish();
    await wake();
    await within(60_000, () => /failed and is not deployed again/.test(pullMemory()?.next ?? ''));
    assert.match(await served(), /^version two /);
    assert.deepEqual(
      pullMemory()!.bad.map((b) => b.commit),
      [broken],
    );
    const tries = () => history().filter((h) => h.sha === broken).length;
    const before = tries();
    await wake();
    await within(10_000, () => pullMemory()?.next === `nothing newer than ${broken.slice(0, 12)}`);
    assert.equal(tries(), before, 'not deployed again');

    writeFileSync(path.join(app, 'server.js'), good);
    change(app, 'version four');
    await publish();
    await wake();
    await within(30_000, async () => (await served()).startsWith('version four (release '));
  });

  it('a force-pushed branch waits for an approval, then goes live', async () => {
    git(app, 'reset', '-q', '--hard', 'HEAD~2');
    change(app, 'rewritten');
    await publish('--force');
    const sha = head();
    await wake();
    await within(20_000, () =>
      /the branch was rewritten \(force-pushed\): needs an approval/.test(pullMemory()?.next ?? ''),
    );
    // it waits: nothing changed yet
    let release = '';
    await within(20_000, () => {
      release =
        host
          .exec('ls', '/srv/hello/releases')
          .split('\n')
          .find((r) => r.endsWith(sha.slice(0, 7))) ?? '';
      return release !== '';
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.match(await served(), /^version four /);
    const a = await run('approve', release, '--env', 'production');
    assert.equal(a.exitCode, 0, a.all);
    await within(30_000, async () => (await served()) === `rewritten (release ${release})\n`);
  });
});
