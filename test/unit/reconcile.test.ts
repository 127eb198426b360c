// reconcile(found) → actions, over every drift kind the agent can find, with exact expectations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoff, FLAP, type Found, reconcile } from '../../src/engine/reconcile.ts';

const R2 = '20261201T100000000Z-bbbbbbb';
const R1 = '20261130T100000000Z-aaaaaaa';
const NOW = 1_800_000_000_000;
/** a host running R2 as it should, behind Caddy */
const fine: Found = {
  desired: { release: R2, environment: 'production' },
  deploying: false,
  release: 'intact',
  current: R2,
  envFile: true,
  config: 'same',
  hasProcess: true,
  running: true,
  proxy: { site: 'same', routesTo: R2 },
  healthy: true,
  bad: [],
  previousHealthy: R1,
  heals: [],
  now: NOW,
};
const what = (f: Partial<Found>) => reconcile({ ...fine, ...f }).map((a) => a.do);

describe('reconcile', () => {
  it('a host as it should be, or with nothing deployed yet, needs nothing', () => {
    assert.deepEqual(reconcile(fine), []);
    assert.deepEqual(reconcile({ ...fine, desired: undefined, current: undefined, running: false }), []);
  });

  it('a deploy in progress is waited for, whatever else is found', () => {
    assert.deepEqual(reconcile({ ...fine, deploying: true, running: false, config: 'missing' }), [
      { do: 'wait', why: 'a deploy holds the lock' },
    ]);
  });

  it('a stopped or crashed service is restarted', () => {
    assert.deepEqual(reconcile({ ...fine, running: false }), [{ do: 'restart', why: 'the app is not running' }]);
  });

  it('a changed or deleted unit is rewritten, then the app restarted with it', () => {
    for (const config of ['differs', 'missing'] as const)
      assert.deepEqual(reconcile({ ...fine, config }), [
        { do: 'rewrite-config', why: `the runtime config ${config === 'differs' ? 'was changed' : 'is missing'}` },
        { do: 'restart', why: 'to run the healed config' },
      ]);
  });

  it('current deleted or pointed elsewhere is pointed back at the desired release', () => {
    assert.deepEqual(reconcile({ ...fine, current: undefined }), [
      { do: 'point-current', release: R2, why: `current points at nothing, desired ${R2}` },
      { do: 'restart', why: 'to run the healed config' },
    ]);
    assert.deepEqual(what({ current: R1 }), ['point-current', 'restart']);
  });

  it('a release whose files were changed or deleted is fetched from a peer before anything points at it', () => {
    assert.deepEqual(reconcile({ ...fine, release: 'changed' }), [
      { do: 'fetch-release', release: R2, why: `release ${R2} is changed on the host` },
    ]);
    assert.deepEqual(what({ release: 'missing', current: undefined, running: false }), [
      'fetch-release',
      'point-current',
      'restart',
    ]);
  });

  it("Caddy's site lost or changed is rewritten; a route to another release is switched back", () => {
    assert.deepEqual(reconcile({ ...fine, proxy: { site: 'missing' } }), [
      { do: 'rewrite-site', why: "Caddy's site is missing" },
      { do: 'route', release: R2, why: `Caddy routes to nothing, desired ${R2}` },
    ]);
    assert.deepEqual(reconcile({ ...fine, proxy: { site: 'same', routesTo: R1 } }), [
      { do: 'route', release: R2, why: `Caddy routes to ${R1}, desired ${R2}` },
    ]);
    assert.deepEqual(what({ proxy: { site: 'differs', routesTo: R2 } }), ['rewrite-site']);
  });

  it('a static site (no process) is never restarted or routed: its link and its site are healed', () => {
    const site: Partial<Found> = { hasProcess: false, running: false, proxy: { site: 'same' } };
    assert.deepEqual(what(site), []);
    assert.deepEqual(what({ ...site, current: R1, proxy: { site: 'missing' } }), ['point-current', 'rewrite-site']);
  });

  it('several drifts at once are healed in order: files, config, link, process, site, route', () => {
    assert.deepEqual(
      what({
        release: 'missing',
        config: 'missing',
        current: undefined,
        running: false,
        proxy: { site: 'missing' },
      }),
      ['fetch-release', 'rewrite-config', 'point-current', 'restart', 'rewrite-site', 'route'],
    );
  });

  it('with everything in place and the health check failing, the previous healthy release is restored', () => {
    assert.deepEqual(reconcile({ ...fine, healthy: false }), [
      {
        do: 'restore-previous',
        release: R1,
        markBad: R2,
        why: `release ${R2} fails its health check with everything in place`,
      },
    ]);
    // not while something else is still being healed: that heal may be what makes it healthy
    assert.deepEqual(what({ healthy: false, running: false }), ['restart']);
    // an unknown health (not run) is no reason to roll back
    assert.deepEqual(what({ healthy: undefined }), []);
  });

  it('with no healthy release to go back to, it is reported with the command that fixes it', () => {
    for (const f of [{ previousHealthy: undefined }, { bad: [R1] }])
      assert.deepEqual(reconcile({ ...fine, healthy: false, ...f }), [
        {
          do: 'report',
          why: `release ${R2} fails its health check and no earlier healthy release is on the host`,
          fix: 'fix the app, then slipway deploy',
        },
      ]);
  });

  it('a missing env file cannot be healed from the host: reported, nothing touched', () => {
    assert.deepEqual(reconcile({ ...fine, envFile: false, running: false }), [
      {
        do: 'report',
        why: 'the env file is missing (it holds secrets only a deploy can write)',
        fix: 'slipway deploy production',
      },
    ]);
  });

  it(`more than ${FLAP.heals} heals in ${FLAP.windowMs / 60_000} minutes stop healing; older ones do not count`, () => {
    const at = (ago: number[]) => ago.map((s) => NOW - s * 1000);
    assert.deepEqual(reconcile({ ...fine, running: false, heals: at([10, 50, 90, 130, 170, 210]) }), [
      {
        do: 'report',
        why: 'healed 6 times in 5 minutes: healing stopped',
        fix: 'find the cause (slipway logs production), then slipway sync production',
        halt: true,
      },
    ]);
    assert.deepEqual(what({ running: false, heals: at([10, 50, 90, 130, 170]) }), ['restart']);
    // the limit applies once the app needs healing again: after its sixth heal it is as it should be
    assert.deepEqual(what({ heals: at([10, 50, 90, 130, 170, 210]) }), []);
    assert.deepEqual(what({ running: false, heals: at([10, 50, 90, 130, 170, 301]) }), ['restart']);
  });

  it('backs off 2 s, ×3 each time, at most 300 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(backoff), [2, 6, 18, 54, 162, 300, 300]);
  });
});
