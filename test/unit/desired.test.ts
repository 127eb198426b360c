import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { appSpec, nextDesired, observeSync, parseDesired, specHash } from '../../src/server/desired.ts';
import { healthOf } from '../../src/engine/observe.ts';
import { buildState } from '../../src/server/state.ts';

const cfgOf = (extra = '') =>
  resolveEnvironment(
    parseConfig(
      `app: shop\nrun: node s.js\nenv: { B: "2", A: "1" }\nsecrets: [DB]\n${extra}` +
        'environments:\n  p:\n    hosts: [h]\n',
      'slipway.yml',
    ),
    'p',
  );
const who = { user: 'ana', machine: 'laptop', command: 'slipway deploy p' };

describe('desired state', () => {
  it('the spec holds what the host runs, variable names only, and hashes the same whatever the key order', () => {
    const spec = appSpec(cfgOf());
    assert.deepEqual(spec.env, ['A', 'B', 'DB']);
    assert.equal(spec.run, 'node s.js');
    assert.equal(spec.user, 'shop');
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as typeof spec;
    assert.notDeepEqual(Object.keys(reordered), Object.keys(spec));
    assert.equal(specHash(reordered), specHash(spec));
    assert.notEqual(specHash(spec), specHash(appSpec(cfgOf('port: 4000\n'))));
    assert.match(specHash(spec), /^[0-9a-f]{64}$/);
  });

  it('each deploy or rollback writes the next generation, with who and what', () => {
    const first = nextDesired(cfgOf(), {}, { id: 'R1', manifest: 'R1.abc' }, who);
    assert.equal(first.generation, 1);
    assert.equal(first.by, 'ana@laptop');
    const second = nextDesired(cfgOf(), { desired: first }, { id: 'R2', manifest: 'R2.def' }, who);
    assert.deepEqual([second.generation, second.release, second.manifest], [2, 'R2', 'R2.def']);
    assert.deepEqual(parseDesired(JSON.stringify(second)), second);
    // the agent's config: the role's, without this machine's paths, the other roles and the webhooks' URLs
    assert.equal(second.config?.run, cfgOf().run);
    assert.deepEqual(second.config?.env, { A: '1', B: '2' });
    for (const key of ['webhooks', 'roles', 'targets', 'dir', 'file']) assert.equal(key in second.config!, false, key);
    assert.equal(parseDesired('{"release": "R1"'), undefined);
    assert.equal(parseDesired(''), undefined);
  });

  it('observe: Synced when the desired release serves and is complete; OutOfSync says what differs', () => {
    const desired = nextDesired(cfgOf(), {}, { id: 'R2', manifest: 'R2.x' }, who);
    const state = { ...buildState('releases/R2', ['R1', 'R2'], []), desired };
    state.manifests = { R1: 'R1.a', R2: 'R2.x' };
    assert.deepEqual(observeSync(state, 'R2'), { sync: 'Synced', reasons: [] });
    assert.deepEqual(observeSync(state, 'R2', ['unit slipway-a.service is missing']), {
      sync: 'OutOfSync',
      reasons: ['unit slipway-a.service is missing'],
    });
    assert.deepEqual(observeSync(state, 'R1'), { sync: 'OutOfSync', reasons: ['serving R1, desired R2'] });
    assert.deepEqual(observeSync({ ...state, manifests: { R1: 'R1.a' } }, 'R2'), {
      sync: 'OutOfSync',
      reasons: ['release R2 has no manifest (incomplete)'],
    });
    assert.deepEqual(observeSync({ ...state, releases: state.releases.slice(0, 1) }, undefined), {
      sync: 'OutOfSync',
      reasons: ['release R2 is not on the host', 'serving nothing, desired R2'],
    });
    assert.deepEqual(observeSync({ ...state, desired: undefined }, 'R2'), {
      sync: 'Unknown',
      reasons: ['no desired state recorded yet (written by the next deploy)'],
    });
  });
});

describe('health', () => {
  const base = { serving: 'R2', running: true, hasProcess: true, deploying: false };
  it('is Healthy when what serves runs and passes its check', () =>
    assert.deepEqual(healthOf({ ...base, check: { ok: true, report: 'HTTP 200' } }), {
      health: 'Healthy',
      reasons: [],
    }));
  it('is Degraded with the check that failed, or the app that does not run', () => {
    assert.deepEqual(healthOf({ ...base, check: { ok: false, report: 'HTTP 500 after 3 attempt(s)' } }), {
      health: 'Degraded',
      reasons: ['health check: HTTP 500 after 3 attempt(s)'],
    });
    assert.deepEqual(healthOf({ ...base, running: false }), {
      health: 'Degraded',
      reasons: ['the app is not running'],
    });
  });
  it('is Progressing during a deploy, Missing with nothing deployed, Unknown when it cannot be checked', () => {
    assert.deepEqual(healthOf({ ...base, deploying: true }), {
      health: 'Progressing',
      reasons: ['a deploy holds the lock'],
    });
    assert.deepEqual(healthOf({ ...base, serving: undefined }), {
      health: 'Missing',
      reasons: ['nothing is deployed'],
    });
    assert.deepEqual(healthOf(base), { health: 'Unknown', reasons: ['the health check could not run'] });
  });
  it('files only (no process) need no running instance', () =>
    assert.deepEqual(healthOf({ ...base, hasProcess: false, running: false, check: { ok: true, report: '' } }), {
      health: 'Healthy',
      reasons: [],
    }));
});
