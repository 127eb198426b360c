// `git push production main` to a real systemd host: setup makes the bare repository and prints the remote; a good
// push deploys (its progress streamed to the pusher) and is taken; a failing one is rejected with the failed step
// and its cause on the rejection's first line, `current` and the branch unchanged; other branches are taken without
// a deploy and deleting the deploy branch is refused.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { change, commit, get, git, makeApp, slipway, within } from '../helpers/env.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';

const URL = 'http://127.0.0.1:3974';

describe('git push deploys', { skip: testhostUnavailable() }, () => {
  let host: TestHost;
  let app: string;
  const push = (...args: string[]) =>
    execa('git', ['push', ...args], {
      cwd: app,
      reject: false,
      all: true,
      env: { GIT_SSH_COMMAND: `ssh -F ${host.sshConfig}` },
    });
  // git pads the hook's lines with spaces
  const rejection = (all: string) =>
    all
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.startsWith('remote: slipway: push rejected: '));
  const current = () => host.exec('readlink', '/srv/hello/current').trim();
  const head = () => git(app, 'rev-parse', 'HEAD').trim();
  const remoteMain = () =>
    host.exec('git', '--git-dir=/srv/hello/.slipway/push.git', 'rev-parse', '--verify', '-q', 'main').trim();

  before(async () => {
    host = bootHost('push1', 2234, { layer: SERVER_LAYER });
    app = makeApp(
      `app: hello\nrun: node server.js\nport: 3974\nhealth: { path: /health, timeout: 4, interval: 0.2 }\n` +
        `git_push: true\nssh: { config_file: ${host.sshConfig} }\nenvironments:\n  production:\n    hosts: [push1]\n`,
    );
    git(app, 'branch', '-M', 'main');
    const s = await slipway(app, ['setup', 'production']);
    assert.equal(s.exitCode, 0, s.all);
    const remote = /git remote add production (\S+)/.exec(s.all)?.[1];
    assert.equal(remote, 'ssh://push1/srv/hello/.slipway/push.git', s.all);
    git(app, 'remote', 'add', 'production', remote!);
  });
  after(() => {
    if (process.env.KEEP) return;
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('a good push deploys, shows its progress, and is taken', async () => {
    change(app, 'pushed one');
    const r = await push('production', 'main');
    assert.equal(r.exitCode, 0, r.all);
    const sha = head();
    assert.match(r.all, new RegExp(`remote: slipway: deploying ${sha.slice(0, 12)} "pushed one" to production`));
    assert.match(r.all, /remote: ✔ /, 'the steps are streamed');
    const release = /remote: slipway: (\S+) is live on push1/.exec(r.all)?.[1];
    assert.ok(release?.endsWith(sha.slice(0, 7)), r.all);
    assert.equal((await get(URL)).body, `pushed one (release ${release})\n`);
    assert.equal(remoteMain(), sha);
    const records = host
      .exec('cat', '/srv/hello/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; release: string; user: string; command: string; sha?: string });
    const ok = records.find((x) => x.event === 'succeeded' && x.release === release);
    assert.equal(ok?.user, 'root (git push)');
    assert.equal(ok?.command, `git push (${sha.slice(0, 12)})`);
    assert.equal(ok?.sha, sha);
    // the scratch copy of the commit is gone
    assert.equal(host.exec('ls', '-A', '/srv/hello/.slipway/push-work').trim(), '');
  });

  it('a failing push is rejected with the failed step and its cause first; current and main stay', async () => {
    const before = current();
    const taken = remoteMain();
    writeFileSync(path.join(app, 'server.js'), 'console.error(\'broken on purpose: $HOME "q"\'); process.exit(3);\n');
    commit(app, 'broken');
    const r = await push('production', 'main');
    assert.notEqual(r.exitCode, 0, r.all);
    const lines = rejection(r.all);
    assert.equal(lines.length, 1, r.all);
    assert.match(lines[0]!, /^remote: slipway: push rejected: .+ failed: /, r.all);
    const after = r.all.slice(r.all.indexOf(lines[0]!));
    assert.match(after, /broken on purpose: \$HOME "q"/, "the app's log lines follow");
    assert.match(after, /slipway logs production/);
    assert.match(r.all, /\[remote rejected\] main -> main/);
    assert.equal(current(), before);
    assert.equal(remoteMain(), taken);
    assert.match((await get(URL)).body, /^pushed one /);
    git(app, 'reset', '-q', '--hard', 'HEAD~1');
  });

  it('another branch is taken without a deploy; deleting main is refused', async () => {
    const before = current();
    git(app, 'checkout', '-q', '-b', 'feature/ü-$x"q');
    change(app, 'on a branch');
    const r = await push('production', 'feature/ü-$x"q');
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all, /remote: slipway: only main is deployed; refs\/heads\/feature\/ü-\$x"q taken as they are/);
    assert.equal(current(), before);
    git(app, 'checkout', '-q', 'main');
    const d = await push('production', ':main');
    assert.notEqual(d.exitCode, 0, d.all);
    assert.deepEqual(rejection(d.all), ['remote: slipway: push rejected: deleting main would leave nothing to deploy']);
    assert.equal(current(), before);
  });

  it('the pusher hanging up once the switch has begun does not stop the deploy, and the lock is let go', async () => {
    change(app, 'pushed while hanging up');
    const p = execa('git', ['push', 'production', 'main'], {
      cwd: app,
      reject: false,
      detached: true,
      env: { GIT_SSH_COMMAND: `ssh -F ${host.sshConfig}` },
    });
    let seen = '';
    await new Promise<void>((resolve) =>
      p.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('Finalize release')) resolve();
      }),
    );
    process.kill(-p.pid!, 'SIGKILL');
    await p;
    await within(30_000, async () => (await get(URL)).body.startsWith('pushed while hanging up (release '));
    await within(10_000, () => host.exec('sh', '-c', 'test -e /srv/hello/.slipway/lock && echo held || true') === '');
    const last = host.exec('tail', '-n', '1', '/srv/hello/.slipway/history.jsonl');
    assert.equal(JSON.parse(last).event, 'succeeded', last);
  });
});
