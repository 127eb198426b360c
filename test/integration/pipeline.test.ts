// A staging → production pipeline on two real hosts (each in its own network
// namespace): promotion of the very same release, guardrails (checks, approval
// from a second process, wait_for, a verification window, bad releases),
// encrypted secrets that never show up anywhere, webhooks, and a plan that
// changes nothing.
// No agent here: this file changes its hosts by hand and watches what slipway itself does; the agent, which would
// put those changes back, is tested in agent.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { change, CLI, commit, makeApp, slipway } from '../helpers/env.ts';
import { bootHost, SERVER_LAYER, testhostUnavailable, type TestHost } from '../helpers/testhost.ts';
import type { PlanStep } from '../../src/engine/plan.ts';

const skip = testhostUnavailable();

const STAGING_SECRET = 'st4ging-Pa55-9f1c2e';
const PRODUCTION_SECRET = 'pr0d-Pa55-77ad03b';

describe('a staging → production pipeline', { skip }, () => {
  let staging: TestHost;
  let production: TestHost;
  let app = '';
  let keys = '';
  let hook: Server;
  const events: { event: string; environment: string; release?: string }[] = [];
  let hookFailures = 0;
  /** everything any command printed: searched for secrets at the end */
  const captured: string[] = [];
  const env = () => ({ XDG_CONFIG_HOME: keys, SLIPWAY_AGE_KEY_PRODUCTION: '' });
  const run = async (...args: string[]) => {
    const r = await slipway(app, args, env());
    captured.push(r.all ?? '');
    return r;
  };
  const current = (h: TestHost) =>
    h.exec('sh', '-c', 'readlink /srv/pipe/current || true').trim().replace('releases/', '');
  const served = (h: TestHost) => h.exec('curl', '-s', 'http://127.0.0.1:3000/').trim();
  const history = (h: TestHost) =>
    h
      .exec('cat', '/srv/pipe/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            event: string;
            release: string;
            reason?: string;
            by?: string;
            promoted_from?: string;
            guardrails?: string[];
          },
      );
  /**
   * Run a deploy or promote that waits for approval, answer it with `answer` (given what it printed), and return its
   * result.
   */
  const answered = async (args: string[], answer: (waiting: string) => Promise<void>) => {
    const child = slipway(app, args, env());
    try {
      let waiting = '';
      child.stderr!.on('data', (c: Buffer) => (waiting += c.toString()));
      for (let i = 0; i < 200 && !/Waiting for approval of/.test(waiting); i++)
        await new Promise((r) => setTimeout(r, 100));
      await answer(waiting);
      const r = await child;
      captured.push(r.all ?? '');
      return r;
    } finally {
      child.kill();
    }
  };
  const config = (extra = '') => `app: pipe
agent: false
run: node server.js
port: 3000
health: { path: /health, timeout: 8, interval: 0.2 }
secrets: [DB_PASSWORD]
checks:
  - run: test -z "$FAIL_CHECK"
webhooks:
  - url: http://127.0.0.1:${(hook.address() as { port: number }).port}/hook
ssh: { config_file: ${path.join(staging.dir, 'all_ssh_config')} }
environments:
  staging:
    hosts: [st1]
    wait_for:
      - command: test -f /etc/slipway-ready
        timeout: 2
        interval: 0.5
    verify: { duration: 2, interval: 0.5, command: test ! -f /etc/slipway-verify-fail }
    hooks:
      before_activate: ["test ! -f /etc/slipway-hook-fail"]
  production:
    after: staging
    hosts: [pr1]
    approval: { required: true, timeout: 60 }
${extra}`;

  before(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // the first delivery ever fails: webhooks are retried
        if (hookFailures++ === 0) return void res.writeHead(500).end();
        captured.push(body);
        const e = JSON.parse(body) as { event: string; environment: string; release?: string };
        events.push({ event: e.event, environment: e.environment, release: e.release });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    staging = bootHost('st1', 22, { address: '10.77.21.2', layer: SERVER_LAYER });
    production = bootHost('pr1', 22, { address: '10.77.22.2', layer: SERVER_LAYER });
    writeFileSync(
      path.join(staging.dir, 'all_ssh_config'),
      [staging, production].map((h) => readFileSync(h.sshConfig, 'utf8')).join('\n'),
    );
    staging.exec('touch', '/etc/slipway-ready');
    keys = mkdtempSync(path.join(os.tmpdir(), 'slipway-keys-'));
    app = makeApp(config());
  });

  after(() => {
    staging?.down();
    production?.down();
    hook?.close();
    if (app) rmSync(app, { recursive: true, force: true });
    if (keys) rmSync(keys, { recursive: true, force: true });
  });

  it('secrets are set per environment, encrypted in the repository, each with its own key', async () => {
    for (const [e, secret] of [
      ['staging', STAGING_SECRET],
      ['production', PRODUCTION_SECRET],
    ] as const) {
      const r = await execa('node', [CLI, 'secrets', 'set', e, 'DB_PASSWORD'], {
        cwd: app,
        input: `${secret}\n`,
        env: env(),
        reject: false,
        all: true,
      });
      captured.push(r.all ?? '');
      assert.equal(r.exitCode, 0, r.all);
      assert.match(r.all ?? '', new RegExp(`Created the ${e} key`));
    }
    commit(app, 'secrets');
    assert.ok(!readFileSync(path.join(app, 'secrets/production.age'), 'utf8').includes(PRODUCTION_SECRET));
    const list = await run('secrets', 'list', 'production');
    assert.equal(list.stdout, 'DB_PASSWORD');
    const get = await run('secrets', 'get', 'staging', 'DB_PASSWORD');
    assert.equal(get.stdout, STAGING_SECRET);
    captured.pop(); // `get` prints the value on purpose: the one output allowed to hold it
    // staging's key in production's place cannot read production's secrets
    const stagingKey = readFileSync(path.join(keys, 'slipway/keys/pipe/staging.key'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const cross = await slipway(app, ['secrets', 'get', 'production', 'DB_PASSWORD'], {
      XDG_CONFIG_HOME: keys,
      SLIPWAY_AGE_KEY_PRODUCTION: stagingKey,
    });
    captured.push(cross.all ?? '');
    assert.equal(cross.exitCode, 2, cross.all);
    assert.match(cross.stderr, /cannot decrypt with the production key/);
  });

  it('deploys to staging with its secret in a 0400 env file', async () => {
    for (const e of ['staging', 'production']) {
      const setup = await run('setup', e);
      assert.equal(setup.exitCode, 0, setup.all);
    }
    change(app, 'Hello v1');
    const d = await run('deploy', 'staging', '--verbose');
    assert.equal(d.exitCode, 0, d.all);
    assert.match(served(staging), /^Hello v1/);
    assert.equal(staging.exec('stat', '-c', '%a %U', '/srv/pipe/.slipway/env').trim(), '400 pipe');
    assert.match(staging.exec('cat', '/srv/pipe/.slipway/env'), new RegExp(`DB_PASSWORD="${STAGING_SECRET}"`));
    assert.deepEqual(
      events.filter((e) => e.environment === 'staging').map((e) => e.event),
      ['started', 'succeeded'],
    );
  });

  it('plan shows every step on every host and leaves both hosts byte for byte unchanged', async () => {
    const snapshot = (h: TestHost) =>
      h.exec(
        'sh',
        '-c',
        'find /srv/pipe /etc/systemd/system -xdev \\( -type f -o -type l \\) -print0 | sort -z | xargs -0 sh -c ' +
          '\'for f; do printf "%s %s\\n" "$(stat -c "%s %Y %a %U" "$f")" "$f"; [ -f "$f" ] && sha256sum "$f"; ' +
          "done; true' sh",
      );
    // the previous deploy stages the next tree in the background (after a pause): let it finish
    // (its last step renames the tree into place) first, so that the snapshots compare what plan could have changed
    const stagerDone =
      'c=$(readlink /srv/pipe/current 2>/dev/null) || exit 0; for i in $(seq 1 100); do [ -d ' +
      '"/srv/pipe/.slipway/staged/${c##*/}" ] && exit 0; sleep 0.1; done; echo "the stager did not finish" ' +
      '>&2; exit 1';
    for (const h of [staging, production]) h.exec('sh', '-c', stagerDone);
    const before = [snapshot(staging), snapshot(production)];
    change(app, 'Hello v2');
    const p = await run('plan', 'production');
    assert.equal(p.exitCode, 0, p.all);
    assert.match(p.stdout, /Plan for production \(nothing has been changed\)/);
    assert.match(p.stdout, /Check here: test -z "\$FAIL_CHECK"/);
    assert.match(p.stdout, /pr1 \(role web, current none\):/);
    assert.match(p.stdout, /Transfer: \d+ file\(s\) to send/);
    assert.match(p.stdout, /Approval: waits for slipway approve/);
    const ps = await run('plan', 'staging', '--json');
    assert.equal(ps.exitCode, 0, ps.all);
    const steps = JSON.parse(ps.stdout).hosts[0].steps as PlanStep[];
    const transfer = steps.find((s) => s.step === 'transfer')!;
    assert.match(transfer.text, /^Transfer: 1 file\(s\) to send/);
    assert.equal(transfer.send, 1);
    assert.ok((transfer.bytes as number) > 0);
    assert.ok(steps.find((s) => s.step === 'wait_for')!.text.startsWith('Wait for `test -f /etc/slipway-ready`'));
    assert.equal(steps.find((s) => s.step === 'verify')!.seconds, 2);
    assert.deepEqual(
      steps.map((s) => s.step),
      ['lock', 'transfer', 'finalize', 'configure', 'hook', 'wait_for', 'activate', 'verify', 'record'],
    );
    assert.deepEqual([snapshot(staging), snapshot(production)], before);
  });

  it('a failing check halts the deploy before anything changes, and is recorded', async () => {
    const before = current(staging);
    const r = await slipway(app, ['deploy', 'staging'], { ...env(), FAIL_CHECK: '1' });
    captured.push(r.all ?? '');
    assert.equal(r.exitCode, 8, r.all);
    assert.match(r.stderr, /check failed \(exit 1\): test -z "\$FAIL_CHECK"/);
    assert.equal(current(staging), before);
    assert.equal(history(staging).at(-1)!.event, 'halted');
  });

  it('a wait_for condition that never holds stops the deploy after its timeout, nothing switched', async () => {
    staging.exec('rm', '-f', '/etc/slipway-ready');
    const before = current(staging);
    const r = await run('deploy', 'staging');
    staging.exec('touch', '/etc/slipway-ready');
    assert.equal(r.exitCode, 8, r.all);
    assert.match(r.stderr, /Wait for `test -f \/etc\/slipway-ready` \(up to 2s\)/);
    assert.match(r.stderr, /st1: wait_for `test -f \/etc\/slipway-ready`: not met after \d+ attempt\(s\) in 2s/);
    assert.equal(current(staging), before);
    assert.match(served(staging), /^Hello v1/);
  });

  it("promote ships staging's live release to production, same files, once a second process approves", async () => {
    const d = await run('deploy', 'staging');
    assert.equal(d.exitCode, 0, d.all);
    const id = current(staging);
    events.length = 0;
    const p = await answered(['promote', 'staging', 'production'], async (waiting) => {
      assert.match(waiting, new RegExp(`slipway approve ${id}`));
      assert.equal(current(production), '', 'nothing goes live before the approval');
      const approve = await run('approve', id);
      assert.equal(approve.exitCode, 0, approve.all);
    });
    assert.equal(p.exitCode, 0, p.all);
    assert.doesNotMatch(p.all ?? '', /Select files|Build/, 'no rebuild');
    assert.equal(current(production), id, 'the very same release id');
    assert.match(served(production), /^Hello v2/);
    const manifests = (h: TestHost) =>
      h
        .exec('ls', '/srv/pipe/.slipway/manifests')
        .split('\n')
        .filter((f) => f.startsWith(id));
    assert.deepEqual(manifests(production), manifests(staging), 'the same manifest digest: the same files');
    assert.match(production.exec('cat', '/srv/pipe/.slipway/env'), new RegExp(`DB_PASSWORD="${PRODUCTION_SECRET}"`));
    const h = history(production);
    const approved = h.find((r) => r.event === 'approved')!;
    assert.match(approved.by!, /@/);
    assert.equal(h.at(-1)!.event, 'succeeded');
    assert.equal(h.at(-1)!.promoted_from, 'staging');
    assert.ok(h.at(-1)!.guardrails!.some((g) => g.startsWith('approval: ')));
    assert.deepEqual(
      events.filter((e) => e.environment === 'production').map((e) => e.event),
      ['started', 'waiting_for_approval', 'succeeded'],
    );
  });

  it('an approval that never comes times out with nothing switched', async () => {
    writeFileSync(
      path.join(app, 'slipway.yml'),
      config().replace('approval: { required: true, timeout: 60 }', 'approval: { required: true, timeout: 1 }'),
    );
    commit(app, 'short approval');
    const before = current(production);
    const r = await run('deploy', 'production');
    assert.equal(r.exitCode, 8, r.all);
    assert.match(r.stderr, /no approval for \S+ within 1s/);
    assert.equal(current(production), before);
    assert.equal(history(production).filter((e) => e.event === 'rejected').length, 1);
    writeFileSync(path.join(app, 'slipway.yml'), config());
    commit(app, 'approval back');
  });

  it('a deploy rejected from a second process stops, nothing switched; who rejected it and why recorded', async () => {
    const before = current(production);
    change(app, 'Hello rejected');
    const r = await answered(['deploy', 'production'], async (waiting) => {
      const id = /Waiting for approval of (\S+) in production/.exec(waiting)?.[1];
      assert.ok(id, waiting);
      const reject = await run('reject', id, '--reason', 'not during the sale');
      assert.equal(reject.exitCode, 0, reject.all);
      assert.match(reject.stderr + reject.stdout, new RegExp(`${id} rejected in production by \\S+@\\S+`));
    });
    assert.equal(r.exitCode, 8, r.all);
    assert.match(r.stderr, /production: the deploy of \S+ was rejected by \S+@\S+: not during the sale/);
    assert.equal(current(production), before);
    assert.match(served(production), /^Hello v2/);
    const rejected = history(production)
      .filter((e) => e.event === 'rejected')
      .at(-1)!;
    assert.match(rejected.by!, /@/);
    assert.match(rejected.reason!, /was rejected by \S+@\S+: not during the sale$/);
  });

  it(
    'a release that fails its verification window is rolled back, marked bad, skipped by rollback and refused ' +
      'by promote',
    async () => {
      const good = current(staging);
      staging.exec('touch', '/etc/slipway-verify-fail');
      change(app, 'Hello v3');
      const r = await run('deploy', 'staging');
      staging.exec('rm', '-f', '/etc/slipway-verify-fail');
      assert.equal(r.exitCode, 4, r.all);
      assert.match(r.stderr, /st1: verification failed: `test ! -f \/etc\/slipway-verify-fail` exited 1/);
      assert.equal(current(staging), good, 'the previous release is serving again');
      const bad = history(staging).find((e) => e.event === 'marked_bad')!;
      const releases = JSON.parse((await run('releases', 'staging', '--json')).stdout).st1.releases as {
        id: string;
        status: string;
      }[];
      assert.equal(releases.find((x) => x.id === bad.release)!.status, 'bad');
      const refused = await run('promote', 'staging', 'production', '--release', bad.release, '--force');
      assert.equal(refused.exitCode, 8, refused.all);
      assert.match(refused.stderr, /promotion refused: \S+ is marked bad in staging/);
      assert.ok(!current(production).startsWith(bad.release));
    },
  );

  it('a release that never passed staging is refused by promote unless --force', async () => {
    staging.exec('touch', '/etc/slipway-hook-fail');
    change(app, 'Hello v4');
    const d = await run('deploy', 'staging');
    staging.exec('rm', '-f', '/etc/slipway-hook-fail');
    assert.equal(d.exitCode, 6, d.all);
    const failed = history(staging)
      .filter((e) => e.event === 'failed')
      .at(-1)!.release;
    const refused = await run('promote', 'staging', 'production', '--release', failed);
    assert.equal(refused.exitCode, 8, refused.all);
    assert.match(
      refused.stderr,
      new RegExp(`promotion refused: ${failed} never passed staging \\(its deploy failed\\)`),
    );
    const wrongWay = await run('promote', 'production', 'staging');
    assert.equal(wrongWay.exitCode, 8, wrongWay.all);
    assert.match(wrongWay.stderr, /staging does not come after production/);
  });

  it('mark-bad by hand: a plain rollback skips the bad release', async () => {
    // staging now: v2 (live) with v1 before it; mark v1 bad and roll back: nothing healthy to go to
    const list = JSON.parse((await run('releases', 'staging', '--json')).stdout).st1.releases as {
      id: string;
      status: string;
    }[];
    const live = current(staging);
    const older = list.filter((x) => x.id < live && x.status === 'ok').at(-1)!.id;
    const m = await run('mark-bad', 'staging', older, '--reason', 'corrupts uploads');
    assert.equal(m.exitCode, 0, m.all);
    const rb = await run('rollback', 'staging');
    assert.notEqual(rb.exitCode, 0, rb.all);
    assert.match(rb.stderr, /no earlier healthy release \(not failed, not marked bad\)/);
    assert.equal(current(staging), live);
  });

  it('secrets appear in no output, log or history; webhooks were retried and heard every event in order', async () => {
    const logs = [staging, production].map((h) =>
      h.exec(
        'sh',
        '-c',
        'cat /srv/pipe/.slipway/history.jsonl; journalctl --no-pager -q 2>/dev/null | tail -n 2000; true',
      ),
    );
    for (const text of [...captured, ...logs]) {
      for (const secret of [STAGING_SECRET, PRODUCTION_SECRET])
        assert.ok(!text.includes(secret), `a secret leaked into:\n${text.slice(0, 400)}`);
    }
    assert.ok(hookFailures > events.length, 'the first delivery failed and was retried');
    assert.ok(events.length > 0);
  });
});
