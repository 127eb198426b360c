// The local target: a folder on this machine, the app run by slipway's own
// supervisor (detached, restarted with backoff, stopped TERM-then-KILL).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { change, commit, get, makeApp, slipway } from '../helpers/env.ts';

const PORT = 3921;
const URL = `http://127.0.0.1:${PORT}`;
const CONFIG = `app: hello
# crashes while shared/crash exists, so the test can force a crash loop
run: if [ -e ../../shared/crash ]; then echo crashing; exit 3; fi; exec node server.js
port: ${PORT}
stop_timeout: 1
health:
  path: /health
  timeout: 8
  interval: 0.2
keep_releases: 3
environments:
  demo:
    hosts: [local]
    root: .slipway-local
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the local target under the supervisor', () => {
  let app: string;
  const run = (...args: string[]) => slipway(app, args);
  const status = async () =>
    JSON.parse((await run('status', 'demo', '--json')).stdout)[0] as {
      state: string;
      pid?: number;
      restarts: number;
      release: string;
      detail?: string;
    };
  const appDir = () => path.join(app, '.slipway-local/hello');

  before(() => {
    // the deploy folder stays out of git: `git add -A` must not race the stager deleting staged trees
    app = makeApp(CONFIG, {
      '.gitignore': '.slipway-local/\n',
      'stubborn.js':
        "require('./server.js');\nprocess.removeAllListeners('SIGTERM');\nprocess.on('SIGTERM', () => " +
        "console.log('ignoring SIGTERM'));\n",
    });
  });
  after(async () => {
    if (app) {
      await run('stop', 'demo');
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('refuses a dirty tree, naming the changed files', async () => {
    writeFileSync(path.join(app, 'message.txt'), 'uncommitted\n');
    assert.equal((await run('setup', 'demo')).exitCode, 0);
    const r = await run('deploy', 'demo');
    assert.equal(r.exitCode, 7, r.all);
    assert.match(r.stderr, /uncommitted changes/);
    assert.match(r.stderr, /message\.txt/);
    assert.match(r.stderr, /--allow-dirty/);
    assert.equal(existsSync(path.join(appDir(), 'current')), false);
    const dirty = await run('deploy', 'demo', '--allow-dirty', '--json');
    assert.equal(dirty.exitCode, 0, dirty.all);
    assert.match(JSON.parse(dirty.stdout).release, /-[0-9a-f]{7}-dirty$/);
    assert.equal((await get(`${URL}/`)).body.startsWith('uncommitted'), true);
    commit(app, 'committed');
  });

  let first = '';
  it('deploys, changes and rolls back; the app outlives the CLI', async () => {
    const d = await run('deploy', 'demo', '--json');
    assert.equal(d.exitCode, 0, d.all);
    first = JSON.parse(d.stdout).release;
    assert.equal((await get(`${URL}/`)).body, `uncommitted (release ${first})\n`);
    change(app, 'second');
    const d2 = await run('deploy', 'demo', '--json');
    assert.equal(d2.exitCode, 0, d2.all);
    assert.equal((await get(`${URL}/`)).body, `second (release ${JSON.parse(d2.stdout).release})\n`);
    const rb = await run('rollback', 'demo', first.split('-')[0]!);
    assert.equal(rb.exitCode, 0, rb.all);
    assert.equal((await get(`${URL}/`)).body, `uncommitted (release ${first})\n`);
    const s = await status();
    assert.equal(s.state, 'running');
    assert.equal(s.release, first);
  });

  it('a deploy window refuses a deploy, recorded, nothing changed; --force overrides it, recorded too', async () => {
    writeFileSync(path.join(app, 'slipway.yml'), `${CONFIG}    windows: { block: ["* 00:00-24:00"] }\n`);
    commit(app, 'blocked');
    const history = () =>
      readFileSync(path.join(appDir(), '.slipway/history.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; release: string; reason?: string; forced?: string[] });
    const current = readlinkSync(path.join(appDir(), 'current'));
    const r = await run('deploy', 'demo');
    assert.equal(r.exitCode, 8, r.all);
    assert.match(r.stderr, /demo: deploys are blocked now \(\* 00:00-24:00; it is \w{3} \d\d:\d\d UTC\)/);
    assert.match(r.stderr, /pass --force \(the override is recorded in the history\)/);
    assert.equal(readlinkSync(path.join(appDir(), 'current')), current);
    assert.deepEqual(
      [history().at(-1)!.event, history().at(-1)!.reason?.startsWith('demo: deploys are blocked now')],
      ['halted', true],
    );

    const f = await run('deploy', 'demo', '--force', '--json');
    assert.equal(f.exitCode, 0, f.all);
    const { release } = JSON.parse(f.stdout) as { release: string };
    const started = history().find((h) => h.event === 'started' && h.release === release)!;
    assert.match(started.forced!.join(), /^window: deploys are blocked now \(\* 00:00-24:00; it is /);
    assert.equal(history().at(-1)!.event, 'succeeded');
    writeFileSync(path.join(app, 'slipway.yml'), CONFIG);
    commit(app, 'no window');
  });

  it('restarts a crashed app with growing backoff, visible in status', async () => {
    writeFileSync(path.join(appDir(), 'shared/crash'), '');
    const before = await status();
    process.kill(before.pid!, 'SIGKILL');
    await sleep(3500); // crash → 1s → crash → 2s → crash
    const s = await status();
    assert.equal(s.state, 'backoff');
    assert.ok(s.restarts >= before.restarts + 2, `restarts ${before.restarts} → ${s.restarts}`);
    assert.match(s.detail!, /crashed \(exit code 3\); next start in [248]s/);
    assert.match((await run('status', 'demo')).stdout, /local: backoff, release .*, \d+ restart\(s\)/);
    assert.match((await run('logs', 'demo', '-n', '20')).stdout, /crashing/);
    rmSync(path.join(appDir(), 'shared/crash'));
    const r = await run('restart', 'demo');
    assert.equal(r.exitCode, 0, r.all);
    assert.equal((await status()).state, 'running');
    assert.equal((await get(`${URL}/`)).status, 200);
  });

  it('stops an app that ignores SIGTERM with SIGKILL after stop_timeout', async () => {
    writeFileSync(path.join(app, 'slipway.yml'), CONFIG.replace(/^run: .*$/m, 'run: node stubborn.js'));
    commit(app, 'stubborn');
    assert.equal((await run('deploy', 'demo')).exitCode, 0);
    change(app, 'after stubborn');
    const d = await run('deploy', 'demo', '--json');
    assert.equal(d.exitCode, 0, d.all);
    const log = readFileSync(path.join(appDir(), '.slipway/logs/app.log'), 'utf8');
    assert.match(log, /ignoring SIGTERM/);
    assert.match(log, /app did not stop within 1s of SIGTERM: SIGKILL/);
    assert.equal((await get(`${URL}/`)).body, `after stubborn (release ${JSON.parse(d.stdout).release})\n`);
  });

  it('a restart that arrives while a stop waits for the app to exit wins: the app runs again', async () => {
    // the old blue/green slot's drain timer may still be stopping it when the next deploy starts that slot
    const supervisor = path.join(appDir(), '.slipway/bin/supervisor.cjs');
    const stateFile = path.join(appDir(), '.slipway/supervisor/main/state.json');
    const before = JSON.parse(readFileSync(stateFile, 'utf8')) as { generation: number; daemon_pid: number };
    const stop = spawn(process.execPath, [supervisor, 'stop', appDir()], { stdio: 'ignore' });
    const stopped = new Promise<number | null>((resolve) => stop.on('exit', resolve));
    try {
      // the stubborn app ignores SIGTERM, so the daemon stays in 'stopping' for stop_timeout (1 s)
      for (let i = 0; i < 100 && JSON.parse(readFileSync(stateFile, 'utf8')).state !== 'stopping'; i++) await sleep(10);
      assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).state, 'stopping');
      const restart = spawnSync(process.execPath, [supervisor, 'restart', appDir()], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(restart.status, 0, restart.stderr);
      const after = JSON.parse(readFileSync(stateFile, 'utf8')) as {
        generation: number;
        daemon_pid: number;
        state: string;
      };
      assert.deepEqual(
        [after.state, after.daemon_pid, after.generation],
        ['running', before.daemon_pid, before.generation + 1],
      );
      // 'running' means started; give it the moment it needs to listen
      let health = 0;
      for (let i = 0; i < 100 && health !== 200; i++) {
        health = (await get(`${URL}/health`)).status;
        if (health !== 200) await sleep(50);
      }
      assert.equal(health, 200);
    } finally {
      stop.kill();
      await stopped;
    }
    assert.equal((await status()).state, 'running');
  });

  it('exec runs in the current release with the app environment', async () => {
    const r = await run('exec', 'demo', '--', 'echo "$PORT"; basename "$(pwd)"');
    assert.equal(r.exitCode, 0, r.all);
    assert.equal(r.stdout.trim(), `${PORT}\n${(await status()).release}`);
  });

  it('prunes to keep_releases, keeping the current one and the one before it', async () => {
    const list = JSON.parse((await run('releases', 'demo', '--json')).stdout).local as {
      current: string;
      releases: { id: string }[];
    };
    assert.equal(list.releases.length, 3);
    assert.equal(list.releases.at(-1)!.id, list.current);
  });

  it('stop stops the app and the supervisor', async () => {
    assert.equal((await run('stop', 'demo')).exitCode, 0);
    assert.equal((await status()).state, 'stopped');
    assert.equal((await get(`${URL}/`)).status, 0);
  });
});
