// git push deploys: the hook's reading of a push, the config it deploys with, the remote setup prints, git_push in
// slipway.yml.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hostConfig, parsePushedRefs, pushDecision } from '../../src/agent/push-hook.ts';
import { PRE_RECEIVE, pushRemote } from '../../src/engine/setup.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

describe('what a push asks', () => {
  it('reads the refs git gives the hook, one per line', () => {
    assert.deepEqual(parsePushedRefs(`${A} ${B} refs/heads/main\n\n${Z} ${A} refs/heads/feature/ü-$x"q\n`), [
      { old: A, new: B, ref: 'refs/heads/main' },
      { old: Z, new: A, ref: 'refs/heads/feature/ü-$x"q' },
    ]);
    assert.deepEqual(parsePushedRefs(''), []);
  });

  it('deploys the deploy branch, refuses its deletion, takes other branches and tags as they are', () => {
    const refs = parsePushedRefs(`${A} ${B} refs/heads/main\n${Z} ${A} refs/tags/v1\n`);
    assert.deepEqual(pushDecision(refs, 'main'), { do: 'deploy', sha: B });
    assert.deepEqual(pushDecision(refs, 'release/1'), { do: 'nothing', others: ['refs/heads/main', 'refs/tags/v1'] });
    assert.deepEqual(pushDecision(parsePushedRefs(`${A} ${Z} refs/heads/main\n`), 'main'), {
      do: 'refuse',
      why: 'deleting main would leave nothing to deploy',
    });
    // a branch whose name only ends like the deploy branch is another branch
    assert.equal(pushDecision(parsePushedRefs(`${A} ${B} refs/heads/x/main\n`), 'main').do, 'nothing');
  });
});

describe('the repository setup makes', () => {
  it('the hook is constant: the bundle finds the app from the repository it runs in', () => {
    assert.equal(
      PRE_RECEIVE,
      '#!/bin/sh\n# written by slipway setup: a push to the deploy branch deploys it\n' +
        'exec node /usr/local/lib/slipway/agent.mjs pre-receive\n',
    );
  });

  it('the remote is the host as ssh reaches it', () => {
    const repo = '/srv/shop/.slipway/push.git';
    const ssh = (t: object) => ({ name: 'web1', target: { name: 'web1', kind: 'ssh' as const, role: 'web', ...t } });
    assert.equal(pushRemote(ssh({ host: 'web1' }), repo), 'ssh://web1/srv/shop/.slipway/push.git');
    assert.equal(
      pushRemote(ssh({ host: '10.0.0.5', user: 'deploy', port: 2222 }), repo),
      'ssh://deploy@10.0.0.5:2222/srv/shop/.slipway/push.git',
    );
    assert.equal(pushRemote({ name: 'self', target: { name: 'self', kind: 'self', role: 'web' } }, repo), repo);
  });
});

describe('git_push in slipway.yml', () => {
  const yml = (v: string, hosts = '[web1]', extra = '') =>
    `app: shop\nrun: node s.js\n${extra}environments:\n  production:\n    hosts: ${hosts}\n    git_push: ${v}\n`;

  it('true deploys main; a branch can be named; unset is none', () => {
    assert.deepEqual(loadEnvironment(yml('true')).git_push, { branch: 'main' });
    assert.deepEqual(loadEnvironment(yml('{ branch: release/v1.x }')).git_push, { branch: 'release/v1.x' });
    assert.equal(loadEnvironment(yml('false')).git_push, undefined);
  });

  it('refuses a branch name git would not take, and the local target, with the place and what to do', () => {
    for (const bad of ['-x', 'a..b', '"a b"', 'x.lock', '""', 'a//b', 'a/', '"a:b"', '"a~1"'])
      assert.match(configError(yml(`{ branch: ${bad} }`)), /git_push\.branch: is not a plain branch name/, bad);
    assert.match(
      configError(yml('true', '[local]')),
      /^slipway\.yml:6:5: git_push: the hook deploys with the agent's bundle, and the local target has none → set/,
    );
    assert.match(configError(yml('true', '[web1]', 'agent: false\n')), /`agent: false` leaves it out/);
  });
});

describe("the hook's config: the pushed slipway.yml, for this host", () => {
  const exported = (text: string | undefined) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'push-'));
    if (text !== undefined) writeFileSync(path.join(dir, 'slipway.yml'), text);
    return dir;
  };
  const yml = (hosts: string, root = '/srv') =>
    `app: shop\nrun: node s.js\nroot: ${root}\nssh: { config_file: ./laptop-only }\n` +
    `environments:\n  production:\n    hosts: ${hosts}\n`;

  it('deploys this host as itself, from the exported folder; the laptop ssh config is not needed', () => {
    const dir = exported(yml('[web1, web2]'));
    const cfg = hostConfig(dir, 'production', 'web2', '/srv/shop');
    assert.deepEqual(cfg.targets, [{ name: 'web2', kind: 'self', role: 'web' }]);
    assert.equal(cfg.dir, dir);
    assert.equal(cfg.appDir, '/srv/shop');
  });

  it('refuses a commit without slipway.yml, one that drops this host, or moves the app', () => {
    assert.throws(() => hostConfig(exported(undefined), 'production', 'web1', '/srv/shop'), /has no slipway\.yml/);
    assert.throws(
      () => hostConfig(exported(yml('[web1]')), 'production', 'web9', '/srv/shop'),
      /environments\.production no longer lists web9/,
    );
    assert.throws(
      () => hostConfig(exported(yml('[web1]', '/opt/apps')), 'production', 'web1', '/srv/shop'),
      /the app now lives in \/opt\/apps\/shop, not \/srv\/shop/,
    );
    assert.throws(() => hostConfig(exported(yml('[web1]')), 'staging', 'web1', '/srv/shop'), /staging/);
  });
});
