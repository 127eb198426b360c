// The agent's pure parts: from an observation to reconcile's facts, what a watched change concerns, its memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentLine } from '../../src/agent/ask.ts';
import { foundOf, type HostFacts, previousHealthy } from '../../src/agent/found.ts';
import { afterHealing, fresh, settled } from '../../src/agent/memory.ts';
import { type AppWatch, appsOfFile, appsOfUnit } from '../../src/agent/watch.ts';
import type { Observed } from '../../src/engine/observe.ts';
import { buildState } from '../../src/server/state.ts';

const R1 = '20261130T100000000Z-aaaaaaa';
const R2 = '20261201T100000000Z-bbbbbbb';
const R3 = '20261202T100000000Z-ccccccc';

function observed(o: Partial<Observed> = {}): Observed {
  const state = { ...buildState(`releases/${R2}`, [R1, R2], []) };
  // both went live (a succeeded record each)
  state.releases = state.releases.map((r) => ({ ...r, status: 'ok' as const }));
  state.desired = { release: R2, environment: 'production', generation: 3 } as Observed['state']['desired'];
  return {
    host: 'web1',
    instances: [{ state: 'active', running: true, release: R2 }],
    serving: R2,
    desired: R2,
    sync: 'Synced',
    reasons: [],
    health: 'Healthy',
    healthReasons: [],
    state,
    drift: {},
    running: true,
    check: { ok: true, report: 'HTTP 200' },
    ...o,
  };
}

const facts: HostFacts = {
  release: 'intact',
  envFile: true,
  proxied: false,
  hasProcess: true,
  heals: [],
  now: 1000,
  afterHeal: false,
};

describe('the agent', () => {
  it('turns an observation into the facts reconcile decides on', () => {
    assert.deepEqual(foundOf(observed(), facts), {
      desired: { release: R2, environment: 'production' },
      deploying: false,
      release: 'intact',
      current: R2,
      envFile: true,
      config: 'same',
      hasProcess: true,
      running: true,
      bad: [],
      previousHealthy: R1,
      heals: [],
      now: 1000,
    });
    const drifted = foundOf(
      observed({ drift: { config: 'unit differs', site: 'site differs' }, live: 'a', routesTo: R2 }),
      {
        ...facts,
        proxied: true,
      },
    );
    assert.equal(drifted.config, 'differs');
    assert.deepEqual(drifted.proxy, { site: 'differs', routesTo: R2 });
    // Caddy not answering which slot is live: nothing is known to be routed
    assert.deepEqual(foundOf(observed(), { ...facts, proxied: true }).proxy, { site: 'same' });
  });

  it("a health check counts only after the agent's own heal", () => {
    const failing = observed({ check: { ok: false, report: 'HTTP 500' } });
    assert.equal(foundOf(failing, facts).healthy, undefined);
    assert.equal(foundOf(failing, { ...facts, afterHeal: true }).healthy, false);
  });

  it("someone else's lock is a deploy under way; its own, or a stale one, is not", () => {
    const lock = { user: 'ana', machine: 'laptop', pid: 1, token: 'T' };
    assert.equal(foundOf(observed({ lock }), facts).deploying, true);
    assert.equal(foundOf(observed({ lock }), { ...facts, ownLock: 'T' }).deploying, false);
    const expired = { ...lock, expires: '2000-01-01T00:00:00Z' };
    assert.equal(foundOf(observed({ lock: expired }), facts).deploying, false);
  });

  it('the previous healthy release is the newest earlier one that went live', () => {
    const releases = [
      { id: R1, current: false, status: 'ok' as const },
      { id: R2, current: false, status: 'bad' as const },
      { id: R3, current: true, status: 'ok' as const },
    ];
    assert.equal(previousHealthy({ releases }, R3), R1);
    assert.equal(previousHealthy({ releases }, R1), undefined);
    assert.equal(previousHealthy({ releases: [...releases, { id: R2, current: false, status: 'failed' }] }, R3), R1);
  });

  it('a unit message or a file change concerns the apps that watch it', () => {
    const watches: AppWatch[] = [
      {
        app: 'shop',
        units: ['slipway-shop.service', 'caddy-api.service'],
        files: ['/etc/u/slipway-shop.service'],
        dirs: ['/srv/shop'],
      },
      { app: 'blog', units: ['slipway-blog@a.service'], files: [], dirs: ['/srv/blog', '/srv/blog/.slipway'] },
    ];
    assert.deepEqual(appsOfUnit(watches, 'caddy-api.service'), ['shop']);
    assert.deepEqual(appsOfUnit(watches, 'slipway-blog@a.service'), ['blog']);
    assert.deepEqual(appsOfUnit(watches, 'cron.service'), []);
    assert.deepEqual(appsOfFile(watches, '/etc/u', 'slipway-shop.service'), ['shop']);
    assert.deepEqual(appsOfFile(watches, '/etc/u', 'other.service'), []);
    assert.deepEqual(appsOfFile(watches, '/etc/u', null), ['shop'], 'no file name: any watched file in it');
    assert.deepEqual(appsOfFile(watches, '/srv/blog/.slipway', 'lock'), ['blog']);
  });

  it('backs off 2 s, 6 s, 18 s while the app keeps breaking, and starts over once it is as it should be', () => {
    let m = fresh();
    const waits = [0, 1, 2].map(() => {
      m = afterHealing(m, 10_000);
      return m.nextAt - 10_000;
    });
    assert.deepEqual(waits, [2000, 6000, 18_000]);
    assert.deepEqual(m.heals, [10_000, 10_000, 10_000]);
    assert.equal(afterHealing({ ...m, heals: [1] }, 400_000).heals.length, 1, 'heals older than the window go');
    const calm = settled({ ...m, degraded: { why: 'x', fix: 'y', since: 'z' } });
    assert.deepEqual([calm.attempts, calm.nextAt, calm.degraded, calm.heals.length], [0, 0, undefined, 3]);
  });

  it("status's line says whether the agent runs and what it last did", () => {
    assert.equal(
      agentLine({ alive: false }, 'shop'),
      'agent: not running (slipway setup installs it; agent: false opts out)',
    );
    const alive = {
      alive: true,
      version: '0.1.0',
      pid: 42,
      started: 'T0',
      apps: {
        shop: {
          ...fresh(),
          lastHeal: { at: 'T1', found: ['the app is not running'], did: ['started R2'], ms: 300, ok: true },
          degraded: { why: 'release R2 is changed on the host', fix: 'slipway deploy production', since: 'T2' },
        },
      },
    };
    assert.equal(
      agentLine(alive, 'shop'),
      'agent: alive (0.1.0, pid 42, since T0); last heal T1: started R2; ' +
        'cannot heal: release R2 is changed on the host → slipway deploy production',
    );
    assert.equal(agentLine(alive, 'blog'), 'agent: alive (0.1.0, pid 42, since T0)');
  });
});
