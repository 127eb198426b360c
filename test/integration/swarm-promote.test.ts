// The guardrails on runtime: swarm, as on every runtime: staging and production each a single-node swarm on a host
// of its own (in its own network), production after staging with approval required. A promotion ships staging's
// live release to production once approved (the same release id and files; its image built there), a rejected one
// changes nothing, and status reads the service and the agent on both.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { imageUnavailable, SWARM_LAYER, swarmRepo } from '../helpers/conformance.ts';
import { commit, slipway } from '../helpers/env.ts';
import { deploy, page, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, type TestHost } from '../helpers/testhost.ts';

const STAGING = 'http://10.77.97.2/';
const PRODUCTION = 'http://10.77.98.2/';

describe('promote and approvals on runtime: swarm', { skip: imageUnavailable() }, () => {
  const hosts: TestHost[] = [];
  let repo = '';
  const say = (message: string) => {
    writeFiles(repo, { 'message.txt': `${message}\n` });
    commit(repo, message);
  };
  const history = (h: TestHost) =>
    h
      .exec('cat', '/srv/sw/.slipway/history.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; release: string; promoted_from?: string; by?: string });
  /** a promotion that waits for approval, answered by a second process as the waiting one says */
  const promote = async (answer: 'approve' | 'reject') => {
    const child = slipway(repo, ['promote', 'staging', 'production']);
    try {
      let waiting = '';
      child.stderr!.on('data', (c: Buffer) => (waiting += c.toString()));
      for (let i = 0; i < 600 && !/Waiting for approval of/.test(waiting); i++)
        await new Promise((r) => setTimeout(r, 100));
      const id = /slipway approve (\S+)/.exec(waiting)?.[1];
      assert.ok(id, waiting);
      const r = await slipway(repo, [answer, id!, ...(answer === 'reject' ? ['--reason', 'not today'] : [])]);
      assert.equal(r.exitCode, 0, r.all);
      return { id: id!, result: await child };
    } finally {
      child.kill();
    }
  };

  before(async () => {
    for (const [i, name] of ['swst', 'swpr'].entries())
      hosts.push(bootHost(name, 22, { address: `10.77.${97 + i}.2`, layer: SWARM_LAYER }));
    const sshConfig = path.join(hosts[0]!.dir, 'all_ssh_config');
    writeFileSync(sshConfig, hosts.map((h) => readFileSync(h.sshConfig, 'utf8')).join('\n'));
    const made = swarmRepo();
    repo = made.repo;
    writeFiles(repo, {
      'slipway.yml': `${made.yml}ssh: { config_file: ${sshConfig} }
environments:
  staging:
    hosts: [swst]
  production:
    hosts: [swpr]
    after: staging
    approval: { required: true }
`,
    });
    commit(repo, 'the app');
    await run(repo, ['setup', 'staging']);
    await run(repo, ['setup', 'production']);
  });
  after(() => {
    if (!process.env.KEEP) for (const h of hosts) h.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it("an approved promotion serves staging's live release in production, the same release", async () => {
    const id = await deploy(repo, 'staging');
    assert.equal(await page(STAGING), 'v1\n');
    const { id: waited, result } = await promote('approve');
    assert.equal(result.exitCode, 0, result.all);
    assert.equal(waited, id);
    assert.equal(await page(PRODUCTION), 'v1\n');
    const done = history(hosts[1]!).at(-1)!;
    assert.deepEqual([done.event, done.release, done.promoted_from], ['succeeded', id, 'staging']);
    assert.ok(history(hosts[1]!).some((r) => r.event === 'approved' && r.release === id && /@/.test(r.by ?? '')));
    const image = hosts[1]!.exec('docker', 'service', 'inspect', 'slipway-sw', '--format', '{{.Spec.Labels}}');
    assert.match(image, new RegExp(`slipway.release:${id}`));
  });

  it('a rejected promotion changes nothing in production; status reads the service and the agent', async () => {
    say('v2');
    const id = await deploy(repo, 'staging');
    assert.equal(await page(STAGING), 'v2\n');
    const { result } = await promote('reject');
    assert.notEqual(result.exitCode, 0, result.all);
    assert.match(result.all, /rejected/);
    assert.equal(await page(PRODUCTION), 'v1\n');
    assert.ok(history(hosts[1]!).some((r) => r.event === 'rejected' && r.release === id));
    const status = await run(repo, ['status', 'production']);
    assert.match(status, /Synced/);
    assert.match(status, /Healthy/);
    assert.match(status, /agent: alive/);
  });
});
