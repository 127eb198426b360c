// The engine's failure paths, driven through a recording host (test/helpers/recording-host.ts):
// every command runs for real in a temporary app folder on this machine (the local target, the
// supervisor runtime; no root, no SSH), and the first command of a chosen phase fails the way a
// real host fails. After each: the kind of error, what `current` points at, the lock, the history,
// and what was (not) sent after the fault.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig, type ResolvedConfig, resolveEnvironment } from '../../src/config/load.ts';
import { deploy } from '../../src/engine/deploy.ts';
import { SlipwayError } from '../../src/errors.ts';
import { type DeployEvent, type EventSink, Events } from '../../src/engine/events.ts';
import { parseHistory } from '../../src/server/history.ts';
import { type Fault, RecordingHost } from '../helpers/recording-host.ts';

const BIN = path.resolve('bin/slipway.js');

describe('engine failure paths (recording host)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-engine-'));
  const appDir = path.join(dir, '.deploy', 'shop');
  const host = new RecordingHost();
  const config = (extra = '') =>
    'app: shop\nrun: exec sleep 600\nroot: .deploy\n' +
    'health: { command: "test ! -f UNHEALTHY", timeout: 3, interval: 0.1 }\n' +
    'install: { command: "test ! -f INSTALL_FAILS && echo built > built.txt", paths: [built.txt] }\n' +
    'hooks: { before_activate: ["echo hook-before"], after_activate: ["echo hook-after"] }\n' +
    'verify: { duration: 0.3, interval: 0.1, command: "test ! -f VERIFY_FAILS # verify-marker" }\n' +
    `${extra}environments:\n  demo:\n    hosts: [local]\n`;
  let cfg: ResolvedConfig;
  const sinks: EventSink[] = [];
  const deployNow = () => {
    const events = new Events();
    for (const sink of sinks.splice(0)) events.subscribe(sink);
    return deploy(cfg, events, { allowDirty: true, command: 'slipway deploy demo', hosts: [host] });
  };
  /** the events of the next deploy, in order, as they come */
  const listening = (): DeployEvent[] => {
    const all: DeployEvent[] = [];
    sinks.push((e) => all.push(e));
    return all;
  };
  const current = () => readlinkSync(path.join(appDir, 'current'));
  const history = () => parseHistory(readFileSync(path.join(appDir, '.slipway/history.jsonl'), 'utf8'));
  const locked = () => existsSync(path.join(appDir, '.slipway/lock'));
  const desired = () => readFileSync(path.join(appDir, '.slipway/desired.json'), 'utf8');
  let desiredBefore = '';
  const configure = (extra = '', run = 'exec sleep 600') => {
    const text = config(extra).replace('exec sleep 600', run);
    writeFileSync(path.join(dir, 'slipway.yml'), text);
    cfg = resolveEnvironment(parseConfig(text, path.join(dir, 'slipway.yml')), 'demo');
  };
  let n = 0;
  /** A new version of the app, so that every deploy is a new release. */
  const change = () => writeFileSync(path.join(dir, 'version.txt'), `${++n}\n`);

  /** Deploy a new version with the fault armed (if any); return the error and what served before. */
  async function failingDeploy(match?: string, fault?: Fault): Promise<{ e: SlipwayError; before: string }> {
    const before = current();
    desiredBefore = desired();
    change();
    if (match && fault) host.failAt(match, fault);
    const e = await deployNow().then(
      () => assert.fail('the deploy succeeded'),
      (err: unknown) => err as SlipwayError,
    );
    if (match) assert.ok(host.struck, `the deploy never sent a command with ${JSON.stringify(match)}: ${e.message}`);
    assert.ok(e instanceof SlipwayError, String(e));
    return { e, before };
  }

  /** What must hold after every failure: the previous release current, the lock free, the failure recorded. */
  function assertPreviousKept(before: string, recorded = true): void {
    assert.equal(current(), before);
    assert.equal(desired(), desiredBefore, 'what the host should run is unchanged');
    assert.equal(`releases/${JSON.parse(desired()).release}`, before);
    assert.equal(locked(), false, 'the lock is released');
    if (recorded) assert.equal(history().at(-1)!.event, 'failed');
  }

  before(async () => {
    writeFileSync(path.join(dir, 'package-lock.json'), '{}\n');
    configure();
    execFileSync('node', [BIN, 'setup', 'demo'], { cwd: dir, stdio: 'ignore' });
    change();
    await deployNow();
  });
  after(() => {
    execFileSync('node', [BIN, 'stop', 'demo'], { cwd: dir, stdio: 'ignore' });
    // a deploy's stager (the next deploy's hard-linked copy) may still be writing in the background
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  const connection: Fault = { kind: 'connection' };
  const beforeSwitch: [string, string][] = [
    ['taking the lock', 'could not write the lock'],
    ['the transfer', 'leftovers of interrupted deploys'],
    ['finalizing the release', 'does not exist: create it on the host'],
    ['writing the env file', 'umask 077'],
    ['the install', 'install: reused cache'],
    ['a before_activate hook', 'echo hook-before'],
    ['the switch', 'ln -sfn'],
  ];
  for (const [phase, match] of beforeSwitch) {
    it(`a connection lost at ${phase}: the error says so, current and the lock are as before`, async () => {
      const records = history().length;
      const { e, before } = await failingDeploy(match, connection);
      assert.equal(e.kind, 'connection');
      // a lock never taken leaves no record; once taken, the deploy is recorded as failed
      const locking = phase === 'taking the lock';
      assertPreviousKept(before, !locking);
      if (locking) assert.equal(history().length, records);
    });
  }

  it('a connection lost at the health check: the previous release is put back', async () => {
    const { e, before } = await failingDeploy('command passed after', connection);
    assert.equal(e.kind, 'connection');
    assertPreviousKept(before);
    assert.match(history().at(-1)!.reason!, /serving again/);
  });

  for (const [phase, match] of [
    ['an after_activate hook', 'echo hook-after'],
    ['the verification window', 'verify-marker'],
  ] as const) {
    it(`a connection lost at ${phase}: the previous release is put back and serving`, async () => {
      const { e, before } = await failingDeploy(match, connection);
      assert.equal(e.kind, 'connection');
      assertPreviousKept(before);
      assert.match(history().at(-1)!.reason!, /is serving again/);
    });
  }

  it('a connection lost while writing the runtime config: the release never goes live', async () => {
    const { e, before } = await failingDeploy('echo unchanged; exit 0', connection);
    assert.equal(e.kind, 'connection');
    assertPreviousKept(before);
  });

  it('a connection lost at the last round trip (success record, prune, unlock): put back, lock freed', async () => {
    const { e, before } = await failingDeploy('setsid nice', connection);
    assert.equal(e.kind, 'connection');
    // the success was never recorded: the previous release, which is, is put back
    assertPreviousKept(before);
  });

  it('a failing local check halts the deploy before anything is sent, recorded as halted', async () => {
    configure('checks: [{ run: "test ! -f CHECK_FAILS" }]\n');
    writeFileSync(path.join(dir, 'CHECK_FAILS'), '');
    try {
      const sent = host.commands.length;
      const { e, before } = await failingDeploy();
      assert.equal(e.kind, 'guardrail');
      assert.match(e.message, /check failed \(exit 1\): test ! -f CHECK_FAILS/);
      assert.equal(current(), before);
      assert.equal(history().at(-1)!.event, 'halted');
      assert.ok(!host.commands.slice(sent).some((c) => c.includes('leftovers of interrupted deploys')));
    } finally {
      rmSync(path.join(dir, 'CHECK_FAILS'));
      configure();
    }
  });

  it('a wait_for condition that never holds stops the deploy after its timeout, nothing switched', async () => {
    configure('wait_for: [{ command: "test -f READY", timeout: 0.5, interval: 0.1 }]\n');
    try {
      const { e, before } = await failingDeploy();
      assert.equal(e.kind, 'guardrail');
      assert.match(e.message, /^local: wait_for `test -f READY`: not met after \d+ attempt\(s\) in 1s/);
      assertPreviousKept(before);
    } finally {
      configure();
    }
  });

  it('a failing health check: exit kind health, the previous release restored, the failure recorded', async () => {
    writeFileSync(path.join(dir, 'UNHEALTHY'), '');
    try {
      const lines = history().length;
      const all = listening();
      const { e, before } = await failingDeploy(); // no fault: the release itself is unhealthy
      assert.equal(e.kind, 'health');
      assert.match(e.message, /failed its health check/);
      assertPreviousKept(before);
      // every subscriber hears the same run: the records are the history lines, the webhooks' events in order
      const records = all.flatMap((x) => (x.type === 'record' ? [x.record] : []));
      assert.deepEqual(JSON.parse(JSON.stringify(records)), history().slice(lines));
      assert.deepEqual(
        records.map((r) => r.event),
        ['started', 'failed'],
      );
      assert.deepEqual(
        all.flatMap((x) => (x.type === 'lifecycle' ? [x.event] : [])),
        ['started', 'failed', 'rolled_back'],
      );
      const activate = all.filter((x) => x.type === 'phase' && x.phase === 'activate');
      assert.deepEqual(
        activate.map((x) => x.type === 'phase' && x.state),
        ['start', 'failed'],
      );
    } finally {
      rmSync(path.join(dir, 'UNHEALTHY'));
    }
  });

  it('a failing before_activate hook: exit kind hook, the switch never sent', async () => {
    const { e, before } = await failingDeploy('echo hook-before', {
      kind: 'exit',
      code: 1,
      stderr: 'migration failed',
    });
    assert.equal(e.kind, 'hook');
    assert.match(e.message, /before_activate hook failed \(exit 1\): echo hook-before/);
    assert.match(e.details!, /migration failed/);
    assertPreviousKept(before);
    const at = host.commands.length - [...host.commands].reverse().findIndex((c) => c.includes('echo hook-before'));
    assert.ok(!host.commands.slice(at).some((c) => c.includes('ln -sfn') && c.includes('current')));
  });

  it('a failing after_activate hook: the previous release is put back', async () => {
    const { e, before } = await failingDeploy('echo hook-after', { kind: 'exit', code: 2, stderr: 'cache warmup' });
    assert.equal(e.kind, 'hook');
    assertPreviousKept(before);
  });

  it('a failing verification: the previous release is put back and the new one marked bad', async () => {
    writeFileSync(path.join(dir, 'VERIFY_FAILS'), '');
    try {
      const { e, before } = await failingDeploy();
      assert.match(e.message, /verif/i);
      assert.equal(current(), before);
      assert.equal(locked(), false);
      assert.deepEqual(
        history()
          .slice(-2)
          .map((r) => r.event),
        ['failed', 'marked_bad'],
      );
    } finally {
      rmSync(path.join(dir, 'VERIFY_FAILS'));
    }
  });

  it('a failing install: the release never goes live; the install output is shown', async () => {
    writeFileSync(path.join(dir, 'package-lock.json'), `{"v": ${n}}\n`); // a new lockfile: the cache cannot help
    const { e, before } = await failingDeploy('install: reused cache', {
      kind: 'exit',
      code: 1,
      stderr: 'npm ERR! network timeout',
    });
    assert.match(e.message, /npm ERR! network timeout/);
    assertPreviousKept(before);
  });

  it('a full disk during the transfer: the reason is given, current untouched', async () => {
    const { e, before } = await failingDeploy('leftovers of interrupted deploys', {
      kind: 'exit',
      code: 4,
      stderr: 'No space left on device: 12 KiB free for /srv/x/.slipway/incoming',
    });
    assert.match(e.message, /local: transfer failed \(exit code 4\)/);
    assert.match(e.details!, /No space left on device: 12 KiB free/);
    assertPreviousKept(before);
  });

  it('a restart that fails at the switch: the previous release is put back', async () => {
    const { before } = await failingDeploy('ln -sfn', { kind: 'exit', code: 1, stderr: 'restart failed' });
    assertPreviousKept(before);
  });

  it('a failed deploy that changed `run:` puts the supervisor settings back', async () => {
    const settings = path.join(appDir, '.slipway/app.json');
    const was = readFileSync(settings, 'utf8');
    configure('', 'exec sleep 601');
    try {
      const { before } = await failingDeploy('echo hook-before', { kind: 'exit', code: 1, stderr: 'no' });
      assertPreviousKept(before);
      assert.equal(readFileSync(settings, 'utf8'), was);
    } finally {
      configure();
    }
  });

  it('a lock held from another machine refuses the deploy before anything is sent, naming the holder', async () => {
    const lock = path.join(appDir, '.slipway/lock');
    execFileSync('mkdir', [lock]);
    writeFileSync(
      path.join(lock, 'info.json'),
      JSON.stringify({ user: 'ana', machine: 'laptop-of-ana', pid: 4242, since: new Date().toISOString(), token: 't' }),
    );
    try {
      const sentBefore = host.commands.length;
      const { e } = await failingDeploy();
      assert.equal(e.kind, 'locked');
      assert.match(e.message, /deploy lock held by ana@laptop-of-ana \(pid 4242\)/);
      assert.ok(!host.commands.slice(sentBefore).some((c) => c.includes('leftovers of interrupted deploys')));
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  });

  it('a stale lock left by a dead process on this machine is taken over', async () => {
    const lock = path.join(appDir, '.slipway/lock');
    execFileSync('mkdir', [lock]);
    const dead = { user: 'me', machine: os.hostname(), pid: 999999999, since: new Date().toISOString(), token: 'x' };
    writeFileSync(path.join(lock, 'info.json'), JSON.stringify(dead));
    change();
    const r = await deployNow();
    assert.equal(current(), `releases/${r.release}`);
    assert.equal(locked(), false);
  });

  it('after every fault above, a plain deploy goes through and is the next generation of what should run', async () => {
    const generation = JSON.parse(desired()).generation as number;
    change();
    const r = await deployNow();
    assert.equal(current(), `releases/${r.release}`);
    assert.equal(history().at(-1)!.event, 'succeeded');
    const now = JSON.parse(desired());
    assert.deepEqual([now.release, now.generation, now.command], [r.release, generation + 1, 'slipway deploy demo']);
  });
});
