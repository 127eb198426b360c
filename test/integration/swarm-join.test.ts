// `swarm.join`: setup joins the environment's host to a swarm that already exists (its manager on another host,
// reached over the hosts' own networks), as a manager, with a token read from a root-only file on the host that
// never appears in an argument; the app's tasks are placed on that host, whatever else the swarm runs.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { buildGoImageFiles, GO_IMAGE, imageUnavailable, SWARM_LAYER } from '../helpers/conformance.ts';
import { deploy, onHost, page, repoOf, run, writeFiles } from '../helpers/stack.ts';
import { bootHost, type TestHost } from '../helpers/testhost.ts';

describe('swarm.join: setup joins an existing swarm', { skip: imageUnavailable() }, () => {
  let manager: TestHost;
  let host: TestHost;
  let repo = '';

  before(() => {
    manager = bootHost('swmgr', 22, { address: '10.77.57.2', layer: SWARM_LAYER });
    host = bootHost('swjoin', 22, { address: '10.77.58.2', layer: SWARM_LAYER });
    // each host reaches the other through this machine
    manager.exec('ip', 'route', 'add', '10.77.58.0/24', 'via', '10.77.57.1');
    host.exec('ip', 'route', 'add', '10.77.57.0/24', 'via', '10.77.58.1');
    manager.exec('docker', 'swarm', 'init', '--advertise-addr', '10.77.57.2');
    const token = manager.exec('docker', 'swarm', 'join-token', '--quiet', 'manager').trim();
    host.exec(
      'sh',
      '-c',
      'umask 077 && mkdir -p /etc/slipway && printf %s "$1" > /etc/slipway/swarm-token',
      '-',
      token,
    );
    repo = repoOf('joined', { ...GO_IMAGE, 'message.txt': 'v1\n', 'health.txt': 'ok\n' });
    buildGoImageFiles(repo);
    writeFiles(repo, {
      'slipway.yml': `app: joined
runtime: swarm
port: 3000
swarm:
  join: { manager: "10.77.57.2:2377", token_file: /etc/slipway/swarm-token }
health: { path: /health, timeout: 8 }
proxy: { port: 80 }
${onHost(host)}`,
    });
    commit(repo, 'the app');
  });
  after(() => {
    if (!process.env.KEEP) {
      host?.down();
      manager?.down();
    }
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it('setup joins as a manager; the deploy runs the tasks on the joined host', async () => {
    const out = await run(repo, ['setup', 'production', '--verbose']);
    assert.match(out, /swarm .* swarm, network or node label set up/);
    assert.ok(!out.includes('SWMTKN'), 'the token is not in the output');
    const nodes = manager.exec('docker', 'node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}');
    assert.match(nodes, /^swjoin (Reachable|Leader)$/m);
    await deploy(repo);
    assert.equal(await page('http://10.77.58.2/'), 'v1\n');
    const placed = manager.exec('docker', 'service', 'ps', '--format', '{{.Node}} {{.CurrentState}}', 'slipway-joined');
    assert.match(placed, /^swjoin Running/m);
    writeFiles(repo, { 'message.txt': 'v2\n' });
    commit(repo, 'v2');
    await deploy(repo);
    assert.equal(await page('http://10.77.58.2/'), 'v2\n');
  });

  it('a worker token is refused with what to do, the token never printed', async () => {
    const token = manager.exec('docker', 'swarm', 'join-token', '--quiet', 'worker').trim();
    // the host leaves as a manager would: demoted first, so the swarm keeps its quorum
    manager.exec('docker', 'node', 'demote', 'swjoin');
    host.exec('docker', 'swarm', 'leave');
    manager.exec('sh', '-c', 'until docker node rm swjoin 2>/dev/null; do sleep 0.5; done');
    host.exec('sh', '-c', 'printf %s "$1" > /etc/slipway/swarm-token', '-', token);
    const out = await run(repo, ['setup', 'production'], 1);
    assert.match(out, /joined 10\.77\.57\.2:2377, but not as a manager → use a manager's token/);
    assert.ok(!out.includes(token), 'the token is not in the output');
  });
});
