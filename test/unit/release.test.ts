import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isReleaseId, releaseId } from '../../src/release/id.ts';
import { filterPaths, selectFiles } from '../../src/release/manifest.ts';
import { appendHistory, historyAppend, parseHistory, type HistoryRecord } from '../../src/server/history.ts';
import { layout } from '../../src/server/layout.ts';
import { install } from '../../src/server/release.ts';
import { LocalHost } from '../../src/transport/local.ts';
import { isStale } from '../../src/server/lock.ts';
import {
  afterDeploy,
  buildState,
  parseState,
  planPrune,
  readState,
  rollbackTarget,
  stateArgv,
} from '../../src/server/state.ts';
import { chooseBase } from '../../src/release/transfer.ts';

describe('release ids', () => {
  it('sort by time and carry the short sha and dirtiness', () => {
    assert.equal(releaseId(new Date('2026-11-22T03:15:00.042Z'), '1a2b3c4d5e6f', false), '20261122T031500042Z-1a2b3c4');
    assert.equal(
      releaseId(new Date('2026-11-22T03:15:00.042Z'), '1a2b3c4d5e6f', true),
      '20261122T031500042Z-1a2b3c4-dirty',
    );
    assert.equal(releaseId(new Date('2026-01-02T00:00:00.000Z'), undefined, false), '20260102T000000000Z');
    const ids = ['2026-12-01T00:00:00.000Z', '2026-11-30T23:59:59.999Z', '2027-01-01T00:00:00.000Z'].map((t) =>
      releaseId(new Date(t), 'ffffff0', false),
    );
    assert.deepEqual([...ids].sort(), [ids[1], ids[0], ids[2]]);
    assert.ok(ids.every(isReleaseId));
    assert.equal(isReleaseId('../etc'), false);
  });
});

describe('manifest', () => {
  it('include/exclude globs, dotfiles included, .git never', () => {
    assert.deepEqual(
      filterPaths(['b.js', 'a.js', '.env.example', 'test/x.test.js', '.git/config', 'docs/a.md', 'a.js'], {
        include: ['**'],
        exclude: ['test/**', '**/*.md'],
      }),
      ['.env.example', 'a.js', 'b.js'],
    );
    assert.deepEqual(
      filterPaths(['src/a.ts', 'dist/a.js', 'package.json'], { include: ['dist/**', 'package.json'], exclude: [] }),
      ['dist/a.js', 'package.json'],
    );
  });

  it('honours .gitignore unless a pattern other than ** names the path', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-manifest-'));
    try {
      const write = (f: string, c = 'x') => {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        writeFileSync(path.join(dir, f), c);
      };
      write('.gitignore', 'dist/\nnode_modules/\n*.log\n');
      write('server.js');
      write('dist/app.js');
      write('node_modules/x/index.js');
      write('debug.log');
      write('untracked.txt');
      write('tracked-then-deleted.txt');
      symlinkSync('server.js', path.join(dir, 'link.js'));
      execFileSync('git', ['init', '-q'], { cwd: dir });
      execFileSync('git', ['add', '.gitignore', 'server.js', 'tracked-then-deleted.txt'], { cwd: dir });
      rmSync(path.join(dir, 'tracked-then-deleted.txt'));
      assert.deepEqual(await selectFiles(dir, { include: ['**'], exclude: [] }), [
        '.gitignore',
        'link.js',
        'server.js',
        'untracked.txt',
      ]);
      assert.deepEqual(await selectFiles(dir, { include: ['**', 'dist/**'], exclude: ['.gitignore'] }), [
        'dist/app.js',
        'link.js',
        'server.js',
        'untracked.txt',
      ]);
      // without git: the top-level .gitignore still applies
      rmSync(path.join(dir, '.git'), { recursive: true });
      assert.deepEqual(await selectFiles(dir, { include: ['**'], exclude: [] }), [
        '.gitignore',
        'link.js',
        'server.js',
        'untracked.txt',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const rec = (event: HistoryRecord['event'], release: string): HistoryRecord => ({
  time: '2026-11-22T00:00:00Z',
  event,
  app: 'a',
  environment: 'p',
  host: 'h',
  release,
  user: 'u',
  machine: 'm',
});

describe('host state', () => {
  const history = [
    rec('started', 'R1'),
    rec('succeeded', 'R1'),
    rec('started', 'R2'),
    rec('succeeded', 'R2'),
    rec('started', 'R3'),
    rec('failed', 'R3'),
    rec('started', 'R4'),
    rec('succeeded', 'R4'),
    rec('started', 'R5'),
  ];

  it("derives each release's status from the history", () => {
    const s = buildState('releases/R4', ['R5', 'R1', 'R3', 'R2', 'R4'], history);
    assert.equal(s.current, 'R4');
    assert.deepEqual(
      s.releases.map((r) => [r.id, r.status, r.current]),
      [
        ['R1', 'ok', false],
        ['R2', 'ok', false],
        ['R3', 'failed', false],
        ['R4', 'ok', true],
        ['R5', 'incomplete', false],
      ],
    );
  });

  it('a plain rollback goes to the newest earlier release that did not fail', () => {
    assert.equal(rollbackTarget(buildState('releases/R4', ['R1', 'R2', 'R3', 'R4'], history))?.id, 'R2');
    assert.equal(rollbackTarget(buildState('releases/R1', ['R1', 'R2'], history)), undefined);
  });

  it(
    'prune keeps N releases: the current one, then rollback targets, then other healthy ones, failed ones ' +
      'last; running slots always',
    () => {
      // R3 failed, R5 incomplete
      assert.deepEqual(planPrune(buildState('releases/R4', ['R1', 'R2', 'R3', 'R4', 'R5'], history), 2), [
        'R1',
        'R3',
        'R5',
      ]);
      assert.deepEqual(planPrune(buildState('releases/R4', ['R1', 'R2', 'R3', 'R4', 'R5'], history), 3), ['R3', 'R5']);
      // after a rollback to R2: R1 is its rollback target; R4 (rolled back from) comes next
      assert.deepEqual(planPrune(buildState('releases/R2', ['R1', 'R2', 'R3', 'R4', 'R5'], history), 2), [
        'R3',
        'R4',
        'R5',
      ]);
      assert.deepEqual(planPrune(buildState('releases/R2', ['R1', 'R2', 'R3', 'R4', 'R5'], history), 3), ['R3', 'R5']);
      assert.deepEqual(planPrune(buildState('releases/R5', ['R1', 'R2', 'R3', 'R4', 'R5'], history), 5), []);
      assert.deepEqual(planPrune(buildState('releases/R4', ['R1', 'R2', 'R3', 'R4', 'R5'], history, ['R1', 'R4']), 2), [
        'R3',
        'R5',
      ]);
    },
  );

  it('three failed deploys do not push healthy releases out: the next good deploy keeps N rollback targets', () => {
    const ids = ['R01', 'R02', 'R03', 'R04', 'R05', 'R06', 'R07', 'R08', 'R09'];
    const ok = ['R01', 'R02', 'R03', 'R04', 'R05', 'R09'];
    const h = ids.flatMap((id) => [rec('started', id), rec(ok.includes(id) ? 'succeeded' : 'failed', id)]);
    const state = buildState('releases/R09', ids, h);
    assert.deepEqual(planPrune(state, 5), ['R01', 'R06', 'R07', 'R08']);
    const kept = state.releases.filter((r) => !planPrune(state, 5).includes(r.id));
    assert.deepEqual(
      kept.map((r) => [r.id, r.status]),
      [
        ['R02', 'ok'],
        ['R03', 'ok'],
        ['R04', 'ok'],
        ['R05', 'ok'],
        ['R09', 'ok'],
      ],
    );
  });

  it(
    'a current link whose release was deleted by hand means no current release ' +
      '(the next deploy transfers everything)',
    () => {
      const s = buildState('releases/R9', ['R1', 'R2'], history);
      assert.equal(s.current, undefined);
      assert.equal(chooseBase({ ...s, manifests: { R9: 'R9.x', R2: 'R2.y' } }), 'R2');
      assert.equal(chooseBase({ ...buildState('releases/R9', [], history), manifests: { R9: 'R9.x' } }), undefined);
    },
  );

  it(
    'the state after a deploy (what its pruning works from) has the new release current and the previous one ' +
      'protected',
    () => {
      const before = buildState('releases/R2', ['R1', 'R2', 'R3', 'R4'], history);
      const after = afterDeploy(before, 'R6', rec('succeeded', 'R6'));
      assert.equal(after.current, 'R6');
      assert.deepEqual(
        after.releases.map((r) => [r.id, r.status]),
        [
          ['R1', 'ok'],
          ['R2', 'ok'],
          ['R3', 'failed'],
          ['R4', 'ok'],
          ['R6', 'ok'],
        ],
      );
      // R2 was current (a rollback) and may still drain on a slot: kept along with R6 and its rollback target R4
      assert.deepEqual(planPrune(after, 2), ['R1', 'R3']);
    },
  );

  it(
    'the state read with the lock holds the records of the releases on the host ' +
      'only; the full read every recent one',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-state-'));
      try {
        const l = layout(dir);
        for (const id of ['R1', 'R2']) mkdirSync(l.release(id), { recursive: true });
        mkdirSync(l.meta, { recursive: true });
        symlinkSync('releases/R2', l.current);
        writeFileSync(
          l.history,
          [
            rec('started', 'R0'),
            rec('succeeded', 'R0'),
            rec('started', 'R1'),
            rec('succeeded', 'R1'),
            rec('started', 'R2'),
            rec('failed', 'R2'),
          ]
            .map((r) => `${JSON.stringify(r)}\n`)
            .join(''),
        );
        const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
        const kept = parseState((await host.run(stateArgv(l, true))).stdout);
        assert.deepEqual(
          kept.history.map((r) => `${r.event} ${r.release}`),
          ['started R1', 'succeeded R1', 'started R2', 'failed R2'],
        );
        assert.deepEqual(
          kept.releases.map((r) => [r.id, r.status]),
          [
            ['R1', 'ok'],
            ['R2', 'failed'],
          ],
        );
        assert.equal(kept.current, 'R2');
        assert.match(kept.platform ?? '', /^Linux \S+ (glibc|musl)$/);
        assert.equal((await readState(host, l)).history.length, 6);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('history skips a record cut short by a crash and keeps the rest', () => {
    const cut = '{"time":"2026-11-22","event":"succ';
    const text = `${JSON.stringify(rec('started', 'R1'))}\n${cut}\n${JSON.stringify(rec('succeeded', 'R1'))}\n`;
    assert.deepEqual(
      parseHistory(text).map((r) => r.event),
      ['started', 'succeeded'],
    );
  });

  it('appending after a record cut short ends that line first, so no later record is lost', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-history-'));
    try {
      const l = layout(dir);
      mkdirSync(l.meta, { recursive: true });
      writeFileSync(l.history, `${JSON.stringify(rec('started', 'R1'))}\n{"time":"2026-11-22","ev`);
      const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
      await appendHistory(host, l, rec('succeeded', 'R1'));
      await appendHistory(host, l, rec('started', 'R2'));
      assert.deepEqual(
        parseHistory(readFileSync(l.history, 'utf8')).map((r) => `${r.event} ${r.release}`),
        ['started R1', 'succeeded R1', 'started R2'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an append that does not fit (a full disk) leaves the history as it was, no record half written', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-history-'));
    try {
      const l = layout(dir);
      mkdirSync(l.meta, { recursive: true });
      const first = `${JSON.stringify(rec('started', 'R1'))}\n`;
      writeFileSync(l.history, first.padStart(400, ' '));
      const { argv, input } = historyAppend(l, { ...rec('succeeded', 'R1'), reason: 'x'.repeat(300) });
      // a 512-byte file size limit stands in for the full disk: the write fails part way (EFBIG)
      const r = spawnSync('sh', ['-c', 'trap "" XFSZ; ulimit -f 1; exec "$@"', 'sh', ...argv], { input });
      assert.equal(r.status, 1);
      assert.match(r.stderr.toString(), /could not add to the history .*history\.jsonl \(is the disk full\?\)/);
      assert.equal(readFileSync(l.history, 'utf8'), first.padStart(400, ' '));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lock is stale only when its process on this machine is gone', () => {
    assert.equal(isStale({ machine: 'here', pid: process.pid }, 'here'), false);
    assert.equal(isStale({ machine: 'elsewhere', pid: 999999999 }, 'here'), false);
    assert.equal(isStale({ machine: 'here', pid: 999999999 }, 'here'), true);
  });

  it("a lock with a lease (the agent's) is stale anywhere once the lease ran out, not before", () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    const lease = { machine: 'server', pid: process.pid, expires: '2026-12-02T10:01:00Z' };
    assert.equal(isStale(lease, 'laptop', now), false);
    assert.equal(isStale(lease, 'laptop', now + 61_000), true);
    assert.equal(isStale(lease, 'server', now + 61_000), true, 'even with its pid alive');
  });
});

describe('install', () => {
  it('a hung install is stopped after install.timeout and fails with the reason; a quick one runs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-install-'));
    try {
      const l = layout(dir);
      const rel = path.join(dir, 'releases', 'R1');
      mkdirSync(rel, { recursive: true });
      const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
      const began = Date.now();
      await assert.rejects(
        install(host, l, rel, { command: 'sleep 30', key: '', paths: [], timeout: 1 }),
        /^Error: local: install: stopped after 1 s: sleep 30 \(exit 124\)$/,
      );
      assert.ok(Date.now() - began < 10_000, 'the install was not stopped');
      const ok = await install(host, l, rel, { command: 'echo built > out', key: '', paths: [], timeout: 5 });
      assert.equal(ok, 'ran');
      assert.equal(readFileSync(path.join(rel, 'out'), 'utf8'), 'built\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
