// Pull mode from a git branch: what the agent does with a tip (pure), the ssh server a URL names, and the git source
// in slipway.yml.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextCommit, type CommitFacts } from '../../src/sources/next.ts';
import { sshServer } from '../../src/sources/git.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const NOW = Date.parse('2026-12-03T12:00:00Z');
const facts = (o: Partial<CommitFacts> = {}): CommitFacts => ({
  tip: { sha: B, committedAt: NOW - 3600_000 },
  lastTip: A,
  rewritten: false,
  bad: [],
  cooldownS: 0,
  now: NOW,
  ...o,
});

describe('nextCommit', () => {
  it('a new tip is deployed; the one last acted on, or the one served before any, is not', () => {
    assert.deepEqual(nextCommit(facts()), { do: 'deploy', approval: false });
    assert.deepEqual(nextCommit(facts({ lastTip: B })), { do: 'none', why: `nothing newer than ${B.slice(0, 12)}` });
    // the last tip acted on wins over what a laptop deployed since (a rollback is not undone)
    assert.equal(nextCommit(facts({ lastTip: B, servedSha: A })).do, 'none');
    assert.equal(nextCommit(facts({ lastTip: undefined, servedSha: B })).do, 'none');
    assert.equal(nextCommit(facts({ lastTip: undefined, servedSha: A })).do, 'deploy');
  });

  it('a commit that failed is never deployed again by the agent', () => {
    const bad = [{ commit: B, why: 'health check failed', at: '2026-12-03T11:00:00Z' }];
    assert.deepEqual(nextCommit(facts({ bad, lastTip: undefined })), {
      do: 'none',
      why: `${B.slice(0, 12)} is bad (health check failed)`,
    });
    // an artifact's bad record with no commit says nothing about commits
    assert.equal(nextCommit(facts({ bad: [{ release: 'r', sha256: B, why: 'x', at: '' }] })).do, 'deploy');
  });

  it('the cooldown counts from the commit time (a future one counts as now), then the windows', () => {
    const young = { sha: B, committedAt: NOW - 60_000 };
    assert.deepEqual(nextCommit(facts({ tip: young, cooldownS: 300 })), {
      do: 'hold',
      why: `${B.slice(0, 12)}: cooldown until 2026-12-03T12:04:00.000Z`,
      until: NOW + 240_000,
    });
    const future = { sha: B, committedAt: NOW + 3600_000 };
    assert.equal(nextCommit(facts({ tip: future, cooldownS: 10 })).do, 'hold');
    assert.equal(nextCommit(facts({ tip: future, cooldownS: 0 })).do, 'deploy');
    assert.deepEqual(nextCommit(facts({ window: 'outside Mon-Fri 09:00-17:00' })), {
      do: 'hold',
      why: `${B.slice(0, 12)}: outside the deploy windows: outside Mon-Fri 09:00-17:00`,
    });
  });

  it('a rewritten branch is deployed only with an approval', () => {
    assert.deepEqual(nextCommit(facts({ rewritten: true })), {
      do: 'deploy',
      approval: true,
      why: `${B.slice(0, 12)}: the branch was rewritten (force-pushed): needs an approval`,
    });
  });
});

describe('sshServer', () => {
  it('names the server as known_hosts does; https and folders have none', () => {
    assert.deepEqual(sshServer('git@github.com:acme/shop.git'), {
      host: 'github.com',
      port: 22,
      pattern: 'github.com',
    });
    assert.deepEqual(sshServer('ssh://git@10.0.0.5:2222/srv/git/shop.git'), {
      host: '10.0.0.5',
      port: 2222,
      pattern: '[10.0.0.5]:2222',
    });
    assert.deepEqual(sshServer('ssh://git@git.example.com/shop.git')?.pattern, 'git.example.com');
    assert.equal(sshServer('https://github.com/acme/shop.git'), undefined);
    assert.equal(sshServer('/srv/git/shop.git'), undefined);
  });
});

describe('a git source in slipway.yml', () => {
  const yml = (source: string, extra = '') =>
    `app: shop\nrun: node s.js\n${extra}environments:\n  production:\n    hosts: [web1]\n    pull:\n` +
    `      source: ${source}\n`;
  const KEY = `ssh-ed25519 ${'A'.repeat(68)}`;

  it('takes ssh, scp-like and https URLs and host folders; the branch defaults to main at the deploy', () => {
    for (const url of [
      'git@github.com:acme/shop.git',
      'ssh://git@10.0.0.5:2222/srv/git/shop.git',
      'https://github.com/acme/shop.git',
      '/srv/git/shop.git',
    ])
      assert.equal(loadEnvironment(yml(`{ git: "${url}" }`)).pull?.source.git, url);
    const cfg = loadEnvironment(yml(`{ git: "git@github.com:acme/shop.git", branch: release/v1, host_key: "${KEY}" }`));
    assert.deepEqual(cfg.pull?.source, { git: 'git@github.com:acme/shop.git', branch: 'release/v1', host_key: KEY });
    assert.equal(cfg.pull?.public_key, undefined);
  });

  it('refuses credentials, other schemes, options in disguise, odd branches and keys, with what to do', () => {
    const refused: [string, RegExp][] = [
      ['{ git: "https://u:p@github.com/acme/shop.git" }', /holds credentials, which would be written on every host/],
      ['{ git: "https://tok@github.com/acme/shop.git" }', /holds credentials/],
      ['{ git: "http://github.com/acme/shop.git" }', /http: is neither ssh: nor https:/],
      ['{ git: "file:///srv/x" }', /file: is neither ssh: nor https:/],
      ['{ git: "-uupload-pack=touch /tmp/x" }', /has a space or control character|starts with "-"/],
      ['{ git: "--upload-pack=x" }', /starts with "-"/],
      ['{ git: "/srv/../etc" }', /is not a plain folder/],
      ['{ git: "git@github.com:acme/shop.git", branch: "a..b" }', /branch: is not a plain branch name/],
      ['{ git: "git@github.com:acme/shop.git", branch: "-f" }', /branch: is not a plain branch name/],
      ['{ git: "git@github.com:acme/shop.git", host_key: "AAAA" }', /host_key: is not a public host key/],
      ['{ artifacts: /srv/a, branch: main }', /source\.branch: goes with `git`/],
      ['{ artifacts: /srv/a, git: "git@h:a.git" }', /names artifacts and git: one source/],
    ];
    for (const [source, message] of refused) assert.match(configError(yml(source)), message, source);
  });

  it('refuses build commands, which would run as root on the host', () => {
    assert.match(
      configError(yml('{ git: "git@github.com:acme/shop.git" }', 'build: [npm run build]\n')),
      /^slipway\.yml:3:1: build: the agent does not run a repository's build commands \(it is root on the host\) → /,
    );
  });
});
