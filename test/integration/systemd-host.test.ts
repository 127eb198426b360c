// End to end over real SSH to a real Debian 12 host running systemd.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, CLI, commit, get, makeApp, slipway } from '../helpers/env.ts';
import { bootHost, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';
import { localPlatform } from '../../src/engine/deps.ts';
import type { PlanStep } from '../../src/engine/plan.ts';

const skip = testhostUnavailable();
const APP_PORT = 3911;
const URL = `http://127.0.0.1:${APP_PORT}`;

function config(sshConfig: string, extra = ''): string {
  return `app: hello
agent: false
run: node server.js
port: ${APP_PORT}
health:
  path: /health
  timeout: 8
  interval: 0.2
shared:
  dirs: [storage]
env:
  NODE_ENV: production
secrets: [DB_PASSWORD]
ssh:
  config_file: ${sshConfig}
environments:
  production:
    hosts: [web1]
${extra}`;
}

const SECRET = 'sw0rdfish-4c3e9b';
const env = { DB_PASSWORD: SECRET };

describe('deploying to a systemd host over SSH', { skip }, () => {
  let host: TestHost;
  let app: string;
  const run = (...args: string[]) => slipway(app, args, env);
  const current = () => host.exec('readlink', '/srv/hello/current').trim().replace('releases/', '');
  const releases = async () =>
    JSON.parse((await run('releases', 'production', '--json')).stdout).web1 as {
      current: string;
      releases: { id: string; status: string }[];
    };

  before(() => {
    host = bootHost('web1', 2211);
    app = makeApp(config(host.sshConfig));
  });
  after(() => {
    host?.down();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('setup bootstraps the host, and running it again changes nothing', async () => {
    const first = await run('setup', 'production', '--json');
    assert.equal(first.exitCode, 0, first.all);
    const changes = JSON.parse(first.stdout).hosts[0].changes as string[];
    assert.equal(
      host.exec('sh', '-c', 'command -v rsync || echo none').trim(),
      'none',
      'deploys need no rsync on the host',
    );
    assert.ok(changes.includes('created user hello'));
    assert.ok(changes.includes('wrote the unit'));
    assert.equal(host.exec('id', '-un', 'hello').trim(), 'hello');
    assert.match(host.exec('cat', '/etc/systemd/system/slipway-hello.service'), /^User=hello$/m);

    const again = await run('setup', 'production', '--json');
    assert.equal(again.exitCode, 0, again.all);
    assert.deepEqual(JSON.parse(again.stdout).hosts[0].changes, []);
    assert.match(again.stderr, /already set up, nothing changed/);
  });

  it('plan and setup name the programs the app needs that the host lacks (npm on a stock Debian)', async () => {
    const extra = 'install: { command: npm ci --omit=dev }\nhooks: { before_activate: ["frobnicate --now"] }\n';
    // left uncommitted: plan and setup read the file as it is, and the release history stays as the next tests expect
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig, extra));
    const p = await run('plan', 'production', '--json');
    assert.equal(p.exitCode, 0, p.all);
    const step = (JSON.parse(p.stdout).hosts[0].steps as PlanStep[]).find((s) => s.step === 'commands')!;
    assert.deepEqual(step.missing, ['npm', 'frobnicate']);
    assert.equal(
      step.text,
      'Missing on the host: npm (setup installs npm), frobnicate (install it yourself): the deploy would fail ' +
        'until `slipway setup` or an install',
    );
    const s = await run('setup', 'production');
    assert.equal(s.exitCode, 1, s.all);
    assert.match(s.stderr, /web1: the app's commands need frobnicate, not on the host/);
    assert.match(s.stderr, /→ install frobnicate on the host \(or fix the command in slipway\.yml\)/);
    execFileSync('git', ['checkout', '-q', 'slipway.yml'], { cwd: app });
  });

  let r1 = '';
  let r2 = '';
  it('deploys, runs the app as its own user with a 0400 env file, and never prints the secret', async () => {
    const d = await run('deploy', 'production', '--json', '--verbose');
    assert.equal(d.exitCode, 0, d.all);
    r1 = JSON.parse(d.stdout).release;
    assert.match(r1, /^\d{8}T\d{9}Z-[0-9a-f]{7}$/);
    assert.deepEqual(await get(`${URL}/`), { status: 200, body: `Hello from slipway (release ${r1})\n` });
    assert.equal(current(), r1);
    assert.equal(host.exec('stat', '-c', '%a %U', '/srv/hello/.slipway/env').trim(), '400 hello');
    assert.match(host.exec('ps', '-o', 'user=', '-C', 'node'), /^hello$/m);
    assert.ok(!d.all!.includes(SECRET), 'the secret appeared in the output');
    assert.ok(
      !host.exec('cat', '/srv/hello/.slipway/history.jsonl').includes(SECRET),
      'the secret appeared in the history',
    );
    assert.match(host.exec('cat', '/srv/hello/.slipway/env'), new RegExp(`^DB_PASSWORD="${SECRET}"$`, 'm'));
    const cfg = await run('config', 'production');
    assert.match(cfg.stdout, /DB_PASSWORD: "\[redacted\]"/);
    assert.ok(!cfg.stdout.includes(SECRET));
  });

  it('deploys a change, shipping only the changed file, and rolls back without a transfer', async () => {
    change(app, 'Hello v2');
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    r2 = JSON.parse(d.stdout).release;
    assert.match(d.stderr, /Transfer 4 files .* 1 changed/);
    assert.deepEqual(await get(`${URL}/`), { status: 200, body: `Hello v2 (release ${r2})\n` });
    // unchanged files are hard links to the previous release's
    const inode = (id: string) => host.exec('stat', '-c', '%i', `/srv/hello/releases/${id}/server.js`).trim();
    assert.equal(inode(r1), inode(r2));

    const rb = await run('rollback', 'production', '--json');
    assert.equal(rb.exitCode, 0, rb.all);
    assert.equal(JSON.parse(rb.stdout).release, r1);
    assert.doesNotMatch(rb.stderr, /Transfer|Build/);
    assert.deepEqual(await get(`${URL}/`), { status: 200, body: `Hello from slipway (release ${r1})\n` });
    const list = await releases();
    assert.equal(list.current, r1);
    assert.deepEqual(
      list.releases.map((r) => [r.id, r.status]),
      [
        [r1, 'ok'],
        [r2, 'ok'],
      ],
    );
    const table = (await run('releases', 'production')).stdout;
    assert.match(table, new RegExp(`^\\*\\s+${r1}\\s+ok\\s+[0-9a-f]{7}\\s+root\\s+.*first$`, 'm'));
    assert.match(table, new RegExp(`^\\s+${r2}\\s+ok\\s+.*Hello v2$`, 'm'));
  });

  let r3 = '';
  it("a release failing its health check is rolled back at once, with the check's answer and app log", async () => {
    change(app, 'Hello v3');
    const ok = await run('deploy', 'production', '--json');
    assert.equal(ok.exitCode, 0, ok.all);
    r3 = JSON.parse(ok.stdout).release;

    const server = readFileSync(path.join(app, 'server.js'), 'utf8');
    writeFileSync(
      path.join(app, 'server.js'),
      server.replace(
        "res.writeHead(200, { 'content-type': 'text/plain' });\n    return res.end('ok\\n');",
        "res.writeHead(500);\n    return res.end('database unreachable\\n');",
      ),
    );
    commit(app, 'broken health');
    const bad = await run('deploy', 'production');
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(bad.stderr, /failed its health check/);
    assert.match(bad.stderr, /last answer: 500 after \d+ attempt/);
    assert.match(bad.stderr, /database unreachable/);
    assert.match(bad.stderr, /hello listening on 127\.0\.0\.1:3911/);
    assert.equal(current(), r3);
    assert.deepEqual(await get(`${URL}/`), { status: 200, body: `Hello v3 (release ${r3})\n` });
    const failed = (await releases()).releases.at(-1)!;
    assert.equal(failed.status, 'failed');

    // a plain rollback skips the failed release
    writeFileSync(path.join(app, 'server.js'), server);
    change(app, 'Hello v5');
    assert.equal((await run('deploy', 'production')).exitCode, 0);
    const rb = await run('rollback', 'production', '--json');
    assert.equal(rb.exitCode, 0, rb.all);
    assert.equal(JSON.parse(rb.stdout).release, r3);
    assert.equal((await get(`${URL}/`)).body, `Hello v3 (release ${r3})\n`);
    const history = JSON.parse((await run('history', 'production', '--json', '-n', '100')).stdout) as {
      event: string;
      release: string;
    }[];
    assert.ok(history.some((h) => h.event === 'failed' && h.release === failed.id));
    assert.deepEqual(history.at(-1)!.event, 'rolled_back');
  });

  it('a failed deploy that changed `run:` puts the unit back: the previous release runs as it did', async () => {
    const unitFile = '/etc/systemd/system/slipway-hello.service';
    const unit = host.exec('cat', unitFile);
    const serving = current();
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config(host.sshConfig).replace('run: node server.js', 'run: sleep 600'),
    );
    commit(app, 'a run command that never listens');
    const bad = await run('deploy', 'production');
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(bad.stderr, /Restore the previous runtime config on web1/);
    assert.equal(host.exec('cat', unitFile), unit);
    assert.match(host.exec('systemctl', 'show', '-p', 'ExecStart', 'slipway-hello'), /exec node server\.js/);
    assert.equal(current(), serving);
    host.exec('systemctl', 'restart', 'slipway-hello');
    let body = '';
    for (let i = 0; i < 50 && !body.includes(serving); i++) {
      await new Promise((r) => setTimeout(r, 100));
      body = (await get(`${URL}/`)).body;
    }
    assert.equal(body, `Hello v3 (release ${serving})\n`);
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig));
    commit(app, 'run restored');
  });

  it('a release that crash-loops fails when systemd gives up, with the exit status, not at the timeout', async () => {
    const serving = current();
    const server = readFileSync(path.join(app, 'server.js'), 'utf8');
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig).replace('timeout: 8', 'timeout: 60'));
    writeFileSync(path.join(app, 'server.js'), `process.exit(3);\n${server}`);
    commit(app, 'crashes at start');
    const began = Date.now();
    const bad = await run('deploy', 'production');
    const took = Date.now() - began;
    assert.equal(bad.exitCode, 4, bad.all);
    assert.match(bad.stderr, /systemd gave up on slipway-hello\.service: it kept exiting \(last exit status 3\)/);
    assert.ok(took < 30_000, `the deploy took ${took} ms: it waited for the 60 s health timeout`);
    assert.equal(current(), serving);
    assert.equal((await get(`${URL}/`)).status, 200);
    writeFileSync(path.join(app, 'server.js'), server);
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig));
    commit(app, 'starts again');
  });

  it('hooks run as the app user with SLIPWAY_* variables; a failing before_activate hook changes nothing', async () => {
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config(
        host.sshConfig,
        'hooks:\n  before_activate:\n    - id -un > "$SLIPWAY_RELEASE_PATH/storage/hook.txt"; echo ' +
          '"$SLIPWAY_RELEASE $SLIPWAY_ENV $SLIPWAY_PREVIOUS_RELEASE" >> "$SLIPWAY_RELEASE_PATH/storage/hook.txt"\n',
      ),
    );
    commit(app, 'with hook');
    const d = await run('deploy', 'production', '--json');
    assert.equal(d.exitCode, 0, d.all);
    const id = JSON.parse(d.stdout).release;
    assert.equal(host.exec('cat', '/srv/hello/shared/storage/hook.txt'), `hello\n${id} production ${r3}\n`);

    const before = current();
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config(
        host.sshConfig,
        'hooks:\n  before_activate:\n    - echo migrating; echo "migration 42 failed" >&2; exit 3\n',
      ),
    );
    commit(app, 'failing hook');
    const bad = await run('deploy', 'production');
    assert.equal(bad.exitCode, 6, bad.all);
    assert.match(bad.stderr, /before_activate hook failed \(exit 3\)/);
    assert.match(bad.stderr, /migration 42 failed/);
    assert.equal(current(), before);
    assert.equal((await get(`${URL}/`)).status, 200);

    const served = (await get(`${URL}/`)).body;
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config(host.sshConfig, 'hooks:\n  after_activate:\n    - echo "cache warm-up failed"; exit 1\n'),
    );
    commit(app, 'failing after_activate');
    const late = await run('deploy', 'production');
    assert.equal(late.exitCode, 6, late.all);
    assert.match(late.stderr, /after_activate hook failed \(exit 1\)/);
    assert.match(late.stderr, /Restore previous release on web1/);
    assert.equal(current(), before);
    assert.equal((await get(`${URL}/`)).body, served);
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig));
    commit(app, 'no hook');
  });

  it('status, logs and exec work through systemd', async () => {
    const st = await run('status', 'production', '--json');
    assert.equal(st.exitCode, 0, st.all);
    const s = JSON.parse(st.stdout)[0];
    assert.equal(s.state, 'active (running)');
    assert.equal(s.release, current());
    const logs = await run('logs', 'production', '-n', '50');
    assert.match(logs.stdout, /hello listening on 127\.0\.0\.1:3911/);
    const ex = await run('exec', 'production', '--', 'id -un; pwd; echo $NODE_ENV');
    assert.equal(ex.exitCode, 0, ex.all);
    assert.equal(ex.stdout.trim(), `hello\n/srv/hello/releases/${current()}\nproduction`);
  });

  it('the host records what it should run; status says Synced, or OutOfSync and why after a hand edit', async () => {
    const live = current();
    const desired = JSON.parse(host.exec('cat', '/srv/hello/.slipway/desired.json'));
    assert.equal(desired.release, live);
    assert.ok(desired.generation >= 5, `generation ${desired.generation}`);
    assert.match(desired.spec_hash, /^[0-9a-f]{64}$/);
    assert.equal(desired.spec.user, 'hello');
    assert.ok(!JSON.stringify(desired).includes(SECRET), 'no secret value in the desired state');
    const synced = await run('status', 'production');
    assert.match(synced.stdout, new RegExp(`^web1: Synced to ${live}$`, 'm'));
    assert.match(synced.stdout, /^web1: Healthy$/m);
    host.exec('systemctl', 'stop', 'slipway-hello');
    try {
      const down = JSON.parse((await run('status', 'production', '--json')).stdout)[0];
      assert.deepEqual(
        [down.sync, down.health, down.health_reasons],
        ['Synced', 'Degraded', ['the app is not running']],
      );
    } finally {
      host.exec('systemctl', 'start', 'slipway-hello');
    }
    const other = (await releases()).releases.find((r) => r.id !== live && r.status === 'ok')!.id;
    host.exec('ln', '-sfn', `releases/${other}`, '/srv/hello/current');
    try {
      const drift = await run('status', 'production', '--json');
      const row = JSON.parse(drift.stdout)[0];
      assert.deepEqual([row.sync, row.reasons], ['OutOfSync', [`serving ${other}, desired ${live}`]]);
    } finally {
      host.exec('ln', '-sfn', `releases/${live}`, '/srv/hello/current');
    }
    // a unit edited by hand is drift too; the next deploy or setup writes it back
    const unit = '/etc/systemd/system/slipway-hello.service';
    const written = host.exec('cat', unit);
    host.exec('sh', '-c', 'echo "# edited" >> "$1"', 'sh', unit);
    try {
      const edited = JSON.parse((await run('status', 'production', '--json')).stdout)[0];
      assert.deepEqual(
        [edited.sync, edited.reasons],
        ['OutOfSync', ['unit slipway-hello.service differs from what slipway writes']],
      );
    } finally {
      host.exec('sh', '-c', 'printf "%s" "$2" > "$1"', 'sh', unit, written);
    }
  });

  it("quick restarts in a row are not refused by systemd's start-rate limit", async (t) => {
    // systemd refuses a sixth start within 10 s by default; deliberate restarts must not count.
    // A drop-in widens the window to 10 minutes, so a slow machine still puts all seven inside it.
    const dropIn = '/etc/systemd/system/slipway-hello.service.d';
    host.exec(
      'sh',
      '-c',
      'mkdir -p "$1" && printf "[Unit]\\nStartLimitIntervalSec=600\\nStartLimitBurst=5\\n" >"$1/limit.conf" && ' +
        'systemctl daemon-reload',
      'sh',
      dropIn,
    );
    t.after(() => host.exec('sh', '-c', 'rm -rf "$1" && systemctl daemon-reload', 'sh', dropIn));
    assert.match(
      host.exec('systemctl', 'show', 'slipway-hello.service', '--property=StartLimitIntervalUSec'),
      /StartLimitIntervalUSec=10min/,
    );
    for (let i = 0; i < 7; i++) {
      const r = await run('restart', 'production');
      assert.equal(r.exitCode, 0, `restart ${i + 1}: ${r.all}`);
    }
    assert.equal((await get(`${URL}/`)).status, 200);
    assert.match(
      host.exec('systemctl', 'show', 'slipway-hello.service', '--property=Restart'),
      /Restart=on-failure/,
      'crash loops are still limited',
    );
  });

  it('two concurrent deploys: the second fails saying who holds the lock, or waits with --lock-wait', async () => {
    // The first deploy holds the lock for at least two seconds (a slow migration).
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig, 'hooks:\n  before_activate: ["sleep 2"]\n'));
    commit(app, 'slow migration');
    const whileLocked = async (second: string[]) => {
      const first = slipway(app, ['deploy', 'production'], env);
      await new Promise<void>((resolve) =>
        first.stderr!.on('data', (c: Buffer) => c.toString().includes('✔ Lock') && resolve()),
      );
      const [a, b] = await Promise.all([first, run(...second)]);
      assert.equal(a.exitCode, 0, a.all);
      return b;
    };
    const refused = await whileLocked(['deploy', 'production']);
    assert.equal(refused.exitCode, 3, refused.all);
    assert.match(
      refused.stderr,
      /web1: deploy lock held by root@\S+ \(pid \d+\) since \S+, running `slipway deploy production`/,
    );
    assert.match(refused.stderr, /--lock-wait SECONDS/);
    const waited = await whileLocked(['deploy', 'production', '--lock-wait', '60']);
    assert.equal(waited.exitCode, 0, waited.all);
    assert.match(waited.stderr, /web1: waiting for the deploy lock held by root@/);
    assert.match((await run('lock', 'status', 'production')).stdout, /web1: unlocked/);
    writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig));
    commit(app, 'no hook');
  });

  /**
   * Start a deploy carrying 256 MiB of random data (compressing it keeps the transfer busy for seconds); resolves once
   * it runs.
   */
  async function deployBigChange(): Promise<{
    child: ReturnType<typeof spawn>;
    exited: Promise<number | null>;
    stderr: () => string;
  }> {
    writeFileSync(
      path.join(app, 'big.bin'),
      execFileSync('head', ['-c', String(256 * 1024 * 1024), '/dev/urandom'], { maxBuffer: 300 * 1024 * 1024 }),
    );
    const child = spawn('node', [CLI, 'deploy', 'production', '--allow-dirty', '--verbose'], {
      cwd: app,
      detached: true,
      env: { ...process.env, ...env },
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // the host is receiving once its side of the transfer runs
    for (let i = 0; i < 300 && !/tar -xzf/.test(host.exec('sh', '-c', 'pgrep -af "[t]ar -xzf" || true')); i++)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    return { child, exited, stderr: () => err };
  }

  /** After a fault: the same release serves, and a normal deploy goes through. */
  async function assertRecovers(before: string, label: string, lockState: RegExp): Promise<string> {
    assert.equal(current(), before);
    assert.equal((await get(`${URL}/`)).status, 200);
    assert.match((await run('lock', 'status', 'production')).stdout, lockState);
    rmSync(path.join(app, 'big.bin'), { force: true });
    change(app, label);
    const next = await run('deploy', 'production', '--json');
    assert.equal(next.exitCode, 0, next.all);
    assert.equal((await get(`${URL}/`)).body, `${label} (release ${JSON.parse(next.stdout).release})\n`);
    assert.equal(host.exec('ls', '/srv/hello/.slipway/incoming').trim(), '');
    return next.stderr;
  }

  it('a deploy stopped with SIGTERM mid-transfer cleans up: current serving, lock released', async () => {
    const before = current();
    const d = await deployBigChange();
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 130, d.stderr());
    assert.match(d.stderr(), /SIGTERM received: stopping, cleaning up/);
    await assertRecovers(before, 'after SIGTERM', /web1: unlocked/);
  });

  it('a deploy killed with SIGKILL mid-transfer leaves current serving; the next takes the stale lock', async () => {
    const before = current();
    const d = await deployBigChange();
    process.kill(-d.child.pid!, 'SIGKILL'); // the whole process group: nothing can clean up
    await d.exited;
    const next = await assertRecovers(before, 'after SIGKILL', /STALE: that process is gone/);
    assert.match(next, /taking over a stale lock/);
  });

  it('a connection dropped mid-transfer fails the deploy clearly; current keeps serving', async () => {
    const before = current();
    const d = await deployBigChange();
    assert.match(
      host.exec('sh', '-c', 'pgrep -af "[t]ar -xzf" || true'),
      /tar -xzf/,
      'the transfer must still be running',
    );
    host.exec('pkill', '-f', 'sshd: root@'); // every SSH session on the host, the master included
    const code = await d.exited;
    assert.ok(code === 5 || code === 1, `exit ${code}\n${d.stderr()}`);
    assert.match(d.stderr(), /web1: (transfer failed|connection lost)/);
    assert.match(d.stderr(), /previous release is still serving/);
    await assertRecovers(before, 'after a dropped connection', /web1: unlocked/);
  });

  it('a full disk fails the transfer with the reason; current keeps serving', async () => {
    const before = current();
    host.exec('mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', '/srv/hello/.slipway/incoming');
    try {
      writeFileSync(
        path.join(app, 'big.bin'),
        execFileSync('head', ['-c', String(8 * 1024 * 1024), '/dev/urandom'], { maxBuffer: 16 * 1024 * 1024 }),
      );
      const r = await run('deploy', 'production', '--allow-dirty');
      assert.equal(r.exitCode, 1, r.all);
      assert.match(r.stderr, /web1: transfer failed \(exit code \d+\)/);
      assert.match(r.stderr, /No space left on device/);
      assert.match(r.stderr, /df -h/);
    } finally {
      host.exec('umount', '/srv/hello/.slipway/incoming');
    }
    await assertRecovers(before, 'after a full disk', /web1: unlocked/);
  });

  it('install runs once per lockfile: an unchanged lockfile reuses the cached result', async () => {
    writeFileSync(path.join(app, 'package-lock.json'), '{"lockfileVersion": 3, "v": 1}\n');
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config(host.sshConfig, 'install:\n  command: mkdir -p node_modules && date +%s%N > node_modules/stamp\n'),
    );
    commit(app, 'with install');
    const stamp = async () => {
      const d = await run('deploy', 'production', '--json');
      assert.equal(d.exitCode, 0, d.all);
      return {
        stderr: d.stderr,
        stamp: host.exec('cat', `/srv/hello/releases/${JSON.parse(d.stdout).release}/node_modules/stamp`),
      };
    };
    const a = await stamp();
    assert.match(a.stderr, /Install: .* installed/);
    change(app, 'same lockfile');
    const b = await stamp();
    assert.match(b.stderr, /unchanged lockfile: reused/);
    assert.equal(b.stamp, a.stamp);
    writeFileSync(path.join(app, 'package-lock.json'), '{"lockfileVersion": 3, "v": 2}\n');
    commit(app, 'new lockfile');
    const c = await stamp();
    assert.notEqual(c.stamp, a.stamp);
  });

  it(
    'install.once builds the dependencies here and ships them to a host of this platform; a host of another ' +
      'platform installs for itself',
    async () => {
      const here = os.hostname();
      assert.notEqual(host.exec('uname', '-n').trim(), here, 'the host must tell itself apart from this machine');
      writeFileSync(
        path.join(app, 'slipway.yml'),
        config(
          host.sshConfig,
          'install:\n  command: mkdir -p node_modules && uname -n > node_modules/built-on\n  once: true\n',
        ),
      );
      commit(app, 'install once');
      const deploy = async () => {
        const d = await run('deploy', 'production', '--json');
        assert.equal(d.exitCode, 0, d.all);
        const id = JSON.parse(d.stdout).release as string;
        return {
          stderr: d.stderr,
          steps: JSON.parse(d.stdout).steps as { title: string; ms: number; ok: boolean; note?: string }[],
          builtOn: host.exec('cat', `/srv/hello/releases/${id}/node_modules/built-on`).trim(),
        };
      };
      const a = await deploy();
      assert.match(a.stderr, /Install here, once: mkdir -p node_modules/);
      assert.doesNotMatch(a.stderr, /Install: mkdir/, 'nothing is installed on the host');
      assert.equal(a.builtOn, here);

      change(app, 'same lockfile, once');
      const b = await deploy();
      assert.match(b.stderr, /Install here, once: mkdir -p node_modules.*reused: built here for this lockfile/);
      const { ms, ...installStep } = b.steps.find((s) => s.title.startsWith('Install here, once'))!;
      assert.ok(ms >= 0);
      assert.deepEqual(installStep, {
        title: 'Install here, once: mkdir -p node_modules && uname -n > node_modules/built-on',
        ok: true,
        note: 'reused: built here for this lockfile',
      });
      assert.match(b.stderr, /Transfer \d+ files .* 1 changed/, 'the dependencies are not sent again');
      assert.equal(b.builtOn, here);

      // with nothing changed, plan counts the dependencies as part of the release: nothing to send or remove
      const p = await run('plan', 'production', '--json');
      assert.equal(p.exitCode, 0, p.all);
      const planned = JSON.parse(p.stdout) as { local: PlanStep[]; hosts: { steps: PlanStep[] }[] };
      assert.deepEqual(
        planned.local.find((s) => s.step === 'install'),
        {
          step: 'install',
          on: 'local',
          command: 'mkdir -p node_modules && uname -n > node_modules/built-on',
          cached: true,
          text:
            `Install here, once: mkdir -p node_modules && uname -n > node_modules/built-on (reused: built here ` +
            `for this lockfile; shipped to hosts of ${localPlatform()})`,
        },
      );
      const transfer = planned.hosts[0]!.steps.find((s) => s.step === 'transfer')!;
      assert.deepEqual([transfer.send, transfer.remove, transfer.bytes], [0, 0, 0], transfer.text);
      assert.equal(
        planned.hosts[0]!.steps.filter((s) => s.step === 'install').length,
        0,
        'nothing installs on the host',
      );

      // the host now says it is an arm64 machine: it gets no dependencies and installs them itself
      host.exec(
        'sh',
        '-c',
        'printf \'#!/bin/sh\\n[ "$1" = -m ] && echo aarch64 && exit 0\\nexec /usr/bin/uname "$@"\\n\' > ' +
          '/usr/local/bin/uname && chmod +x /usr/local/bin/uname',
      );
      try {
        change(app, 'other platform');
        const c = await deploy();
        assert.match(c.stderr, /Install: mkdir -p node_modules.* on web1 \(another platform than this machine\)/);
        assert.equal(c.builtOn, host.exec('uname', '-n').trim());
      } finally {
        host.exec('rm', '-f', '/usr/local/bin/uname');
      }
      writeFileSync(path.join(app, 'slipway.yml'), config(host.sshConfig));
      commit(app, 'no install');
    },
  );

  it('keeps keep_releases releases and prunes the rest', async () => {
    const list = await releases();
    assert.ok(list.releases.length <= 5, `${list.releases.length} releases kept`);
    assert.ok(list.releases.some((r) => r.id === list.current));
  });

  it('deploys a portable artifact built with build --output', async () => {
    change(app, 'from an artifact');
    const out = path.join(app, '..', `hello-${process.pid}.tar.gz`);
    const b = await run('build', '--output', out, '--json');
    assert.equal(b.exitCode, 0, b.all);
    const id = JSON.parse(b.stdout).release;
    assert.match(readFileSync(`${out}.sha256`, 'utf8'), /^[0-9a-f]{64} {2}hello-\d+\.tar\.gz\n$/);
    const d = await run('deploy', 'production', '--artifact', out, '--json');
    assert.equal(d.exitCode, 0, d.all);
    assert.equal(JSON.parse(d.stdout).release, id);
    assert.equal((await get(`${URL}/`)).body, `from an artifact (release ${id})\n`);
    appendFileSync(out, 'x');
    const tampered = await run('deploy', 'production', '--artifact', out);
    assert.equal(tampered.exitCode, 2);
    assert.match(tampered.stderr, /checksum mismatch/);
    rmSync(out);
    rmSync(`${out}.sha256`);
  });
});
