// Catching hosts up: the environment's desired release (the newest any host was given), the hosts that lag it,
// and what a sync does on each (copy, switch, nothing), with where a copy comes from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Desired, environmentDesired, lagging } from '../../src/server/desired.ts';
import type { ReleaseStatus } from '../../src/server/state.ts';
import { planSync } from '../../src/engine/sync.ts';

const desired = (release: string, at: string, generation = 1) =>
  ({ release, at, generation, environment: 'production' }) as Desired;

/** A host's state: the releases it keeps (`id` or `id:status`), the current one, its desired state. */
const host = (name: string, opts: { keeps?: string[]; current?: string; desired?: Desired }) => {
  const releases = (opts.keeps ?? []).map((k) => {
    const [id, status = 'ok'] = k.split(':') as [string, ReleaseStatus?];
    return { id, current: id === opts.current, status };
  });
  return {
    host: name,
    state: {
      current: opts.current,
      desired: opts.desired,
      releases,
      manifests: Object.fromEntries(releases.map((r) => [r.id, `${r.id}.digest`])),
    },
  };
};

const R1 = '20261201T100000Z-aaaaaaa';
const R2 = '20261202T100000Z-bbbbbbb';

describe("the environment's desired release", () => {
  it('is the newest any host was given; the same instant goes to the higher generation', () => {
    const a = desired(R1, '2026-12-01T10:00:00.000Z', 7);
    const b = desired(R2, '2026-12-02T10:00:00.000Z', 2);
    assert.deepEqual(
      environmentDesired([{ host: 'web1', desired: a }, { host: 'web2', desired: b }, { host: 'web3' }]),
      {
        host: 'web2',
        desired: b,
      },
    );
    const c = desired(R1, b.at, 3);
    assert.equal(
      environmentDesired([
        { host: 'web1', desired: b },
        { host: 'web2', desired: c },
      ])!.host,
      'web2',
    );
    assert.equal(environmentDesired([{ host: 'web1' }]), undefined);
  });

  it('names each host that lags it, with what it has and the command that catches it up', () => {
    const behind = lagging('production', [
      { host: 'web1', desired: desired(R2, '2026-12-02T10:00:00.000Z') },
      { host: 'web2', desired: desired(R1, '2026-12-01T10:00:00.000Z') },
      { host: 'web3' },
      { host: 'web4', desired: desired(R2, '2026-12-02T10:00:00.000Z') },
    ]);
    assert.deepEqual(
      [...behind],
      [
        [
          'web2',
          `behind production: web1 was given ${R2} at 2026-12-02T10:00:00.000Z, this host is at ${R1} ` +
            '→ slipway sync production',
        ],
        [
          'web3',
          `behind production: web1 was given ${R2} at 2026-12-02T10:00:00.000Z, this host has none ` +
            '→ slipway sync production',
        ],
      ],
    );
    assert.equal(lagging('production', [{ host: 'web1' }, { host: 'web2' }]).size, 0);
  });
});

describe('what a sync does', () => {
  const given = desired(R2, '2026-12-02T10:00:00.000Z');
  const old = desired(R1, '2026-12-01T10:00:00.000Z');

  it('copies to a host that lacks the release, switches one that keeps it, leaves the rest', () => {
    const plan = planSync([
      host('web1', { keeps: [R1, R2], current: R2, desired: given }),
      host('web2', { keeps: [R1], current: R1, desired: old }),
      host('web3', {}),
      host('web4', { keeps: [R1, R2], current: R1, desired: old }),
    ]);
    assert.deepEqual(plan, {
      release: R2,
      sources: ['web1', 'web4'],
      copy: ['web2', 'web3'],
      activate: ['web4'],
      repair: [],
      synced: ['web1'],
    });
  });

  it('a copy whose files changed is replaced, whether it serves or not, and is no source', () => {
    const plan = planSync([
      { ...host('web1', { keeps: [R1, R2], current: R2, desired: given }), changed: true },
      host('web2', { keeps: [R1, R2], current: R2, desired: given }),
      { ...host('web3', { keeps: [R1, R2], current: R1, desired: old }), changed: true },
    ]);
    assert.deepEqual(plan, {
      release: R2,
      sources: ['web2'],
      copy: [],
      activate: [],
      repair: ['web1', 'web3'],
      synced: ['web2'],
    });
  });

  it('copies from a host that serves the release before one that only keeps it; never from a bad copy', () => {
    const plan = planSync([
      host('web1', { keeps: [R1, R2], current: R1, desired: old }),
      host('web2', { keeps: [`${R2}:bad`], current: R2, desired: given }),
      host('web3', { keeps: [R2], current: R2, desired: given }),
      host('web4', {}),
    ]);
    assert.deepEqual(plan?.sources, ['web3', 'web1']);
  });

  it('after a setup: only hosts that never had a release are caught up', () => {
    const plan = planSync(
      [
        host('web1', { keeps: [R2], current: R2, desired: given }),
        host('web2', { keeps: [R1], current: R1, desired: old }),
        host('web3', {}),
      ],
      true,
    );
    assert.deepEqual(plan, { release: R2, sources: ['web1'], copy: ['web3'], activate: [], repair: [], synced: [] });
  });

  it('nothing to do where nothing was ever deployed', () => {
    assert.equal(planSync([host('web1', {}), host('web2', {})]), undefined);
  });
});
