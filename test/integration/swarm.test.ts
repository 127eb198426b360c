// `runtime: swarm` on a real single-node swarm (Debian's docker.io on a host in its own network): the image is
// built here and shipped without a registry, Swarm rolls each release out start-first behind Caddy with no failed
// request, a release failing its health check is rolled back by Swarm and reported by slipway as a failed deploy
// (exit code, history, webhook), a rollback goes two releases back, the verification window runs, and the agent
// routes Caddy to a task Swarm replaced. The image is tiny (a static Go server and busybox's sh and wget): a task
// starts in a second even on the engine's vfs storage.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../helpers/env.ts';
import { startLoad } from '../helpers/load.ts';
import { deploy, onHost, page, run, writeFiles } from '../helpers/stack.ts';
import { imageUnavailable, SWARM_LAYER, swarmRepo } from '../helpers/conformance.ts';
import { bootHost, type TestHost } from '../helpers/testhost.ts';

const ADDRESS = '10.77.51.2';
const URL = `http://${ADDRESS}/`;
const skip = imageUnavailable();

describe('runtime: swarm on a single-node swarm', { skip }, () => {
  let host: TestHost;
  let repo = '';
  const ids: string[] = [];
  // the environment's webhooks, sent from this machine
  const hooks: { event: string; reason?: string }[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  const say = (message: string, files: Record<string, string> = {}) => {
    writeFiles(repo, { 'message.txt': `${message}\n`, ...files });
    commit(repo, message);
  };

  before(async () => {
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    host = bootHost('swarm1', 22, { address: ADDRESS, layer: SWARM_LAYER });
    const made = swarmRepo();
    repo = made.repo;
    writeFiles(repo, {
      'slipway.yml': `${made.yml}verify: { duration: 2 }
webhooks:
  - url: http://127.0.0.1:${(hook.address() as AddressInfo).port}/
${onHost(host)}`,
    });
    commit(repo, 'the app');
  });
  after(() => {
    hook.close();
    if (!process.env.KEEP) host?.down();
    if (repo) rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  const service = () =>
    JSON.parse(host.exec('docker', 'service', 'inspect', 'slipway-sw', '--format', '{{json .Spec}}')) as {
      UpdateConfig: { Order: string; FailureAction: string };
      TaskTemplate: { ContainerSpec: { Labels: Record<string, string>; Env: string[] } };
    };

  it('setup starts the swarm; a deploy runs the release as a service rolled out start-first behind Caddy', async () => {
    const out = await run(repo, ['setup', 'production']);
    assert.match(out, /swarm .* swarm, network or node label set up/);
    assert.match(host.exec('docker', 'info', '--format', '{{.Swarm.LocalNodeState}}'), /^active/);
    const id = await deploy(repo);
    ids.push(id);
    assert.equal(await page(URL), 'v1\n');
    const spec = service();
    assert.deepEqual(spec.UpdateConfig.Order, 'start-first');
    assert.deepEqual(spec.UpdateConfig.FailureAction, 'rollback');
    assert.equal(spec.TaskTemplate.ContainerSpec.Labels['slipway.release'], id);
    assert.ok(spec.TaskTemplate.ContainerSpec.Env.includes(`SLIPWAY_RELEASE=${id}`));
    const status = await run(repo, ['status', 'production']);
    assert.match(status, /Synced/);
    assert.match(status, /Healthy/);
  });

  it('a change goes live with no failed request under load', async () => {
    const load = startLoad(URL);
    try {
      await new Promise((r) => setTimeout(r, 300));
      say('v2');
      ids.push(await deploy(repo));
      await new Promise((r) => setTimeout(r, 300));
      const seen = await load.stop();
      assert.ok(seen.requests > 20, `the load ran (${seen.requests} requests)`);
      assert.equal(seen.failed, 0, `no failed request: ${JSON.stringify(seen.statuses)} ${seen.errors.slice(0, 3)}`);
      assert.deepEqual(new Set(seen.bodies), new Set(['v1\n', 'v2\n']));
    } finally {
      await load.stop();
    }
    assert.equal(await page(URL), 'v2\n');
  });

  it('a release failing its health check is rolled back by Swarm and reported as a failed deploy', async () => {
    say('v3', { 'health.txt': 'sick\n' });
    const load = startLoad(URL);
    try {
      const out = await run(repo, ['deploy', 'production'], 4);
      assert.match(out, /Swarm rolled the update back/);
      const failed = hooks.filter((h) => h.event === 'failed');
      assert.equal(failed.length, 1, JSON.stringify(hooks));
      assert.match(failed[0]!.reason ?? '', /failed its health check; it never received traffic/);
      const seen = await load.stop();
      assert.equal(seen.failed, 0, `no failed request: ${JSON.stringify(seen.statuses)} ${seen.errors.slice(0, 3)}`);
      assert.deepEqual([...seen.bodies], ['v2\n']);
    } finally {
      await load.stop();
    }
    assert.equal(await page(URL), 'v2\n');
    const history = await run(repo, ['history', 'production']);
    assert.match(history, /failed/);
    say('v4', { 'health.txt': 'ok\n' });
  });

  it('a rollback goes two releases back, to a kept image, and logs and exec work', async () => {
    await deploy(repo);
    assert.equal(await page(URL), 'v4\n');
    // v2 is one back (v3 failed), v1 two
    await run(repo, ['rollback', 'production', ids[0]!]);
    assert.equal(await page(URL), 'v1\n');
    assert.equal(service().TaskTemplate.ContainerSpec.Labels['slipway.release'], ids[0]);
    const exec = await run(repo, ['exec', 'production', '--', 'sh', '-c', 'echo "$PORT" && cat /app/message.txt']);
    assert.match(exec, /^3000\nv1$/m);
  });

  it('restart starts the task anew, the new one first', async () => {
    const task = () => host.exec('docker', 'ps', '--quiet').trim();
    const before = task();
    await run(repo, ['restart', 'production']);
    assert.notEqual(task(), before);
    assert.equal(await page(URL), 'v1\n');
  });

  const address = () => {
    const id = host.exec('docker', 'ps', '--quiet').trim();
    return host
      .exec('docker', 'inspect', '--format', '{{(index .NetworkSettings.Networks "slipway-sw").IPAddress}}', id)
      .trim();
  };
  const routed = () => JSON.parse(host.exec('curl', '-s', 'localhost:2019/id/slipway_sw_proxy/upstreams'));
  const servedAgain = async () => {
    let served = '';
    for (let i = 0; i < 120 && served !== 'v1\n'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      served = await page(URL).catch(() => '');
    }
    return served;
  };

  it('a task killed on the host is replaced by Swarm, and Caddy routes to the one that runs', async () => {
    host.exec('docker', 'kill', host.exec('docker', 'ps', '--quiet').trim());
    assert.equal(await servedAgain(), 'v1\n');
    assert.deepEqual(routed(), [{ dial: `${address()}:3000` }]);
  });

  it('Caddy routing to a task that is gone is drift: the agent routes it to the tasks that run', async () => {
    const journal = () => host.exec('journalctl', '-u', 'slipway-agent', '--no-pager');
    const heals = () => journal().match(/sw: found /g)?.length ?? 0;
    // the agent done with what it found before (the task killed above): idle, as it should be
    for (let i = 0; i < 120 && !/as it should be[^\n]*\n$/.test(journal()); i++)
      await new Promise((r) => setTimeout(r, 250));
    const before = heals();
    const gone = [{ dial: '172.19.0.250:3000' }];
    const patch = ['-sf', '-X', 'PATCH', '-H', 'Content-Type: application/json', '-d', JSON.stringify(gone)];
    host.exec('curl', ...patch, 'localhost:2019/id/slipway_sw_proxy/upstreams');
    assert.deepEqual(routed(), gone);
    assert.equal(await servedAgain(), 'v1\n');
    assert.deepEqual(routed(), [{ dial: `${address()}:3000` }]);
    // the agent's own account of it (journald may write it a moment later)
    for (let i = 0; i < 60 && heals() === before; i++) await new Promise((r) => setTimeout(r, 250));
    assert.ok(heals() > before, 'the agent found and healed it');
  });

  it('with swarm.secrets: files a secret is a Swarm secret, never in the spec; a changed one replaces it', async () => {
    const file = path.join(repo, 'slipway.yml');
    const yml = readFileSync(file, 'utf8');
    writeFiles(repo, {
      'slipway.yml': yml.replace(
        'swarm: { init: true }',
        'swarm: { init: true, secrets: files }\nsecrets: [DB_PASSWORD]',
      ),
    });
    commit(repo, 'the password as a Swarm secret');
    const secrets = () =>
      host.exec('docker', 'secret', 'ls', '--filter', 'label=slipway.app=sw', '--format', '{{.Name}}');
    // what the app in the task reads from the file DB_PASSWORD_FILE names
    const inTask = () => page(`${URL}secret`);
    const values = [`s3cr$t 'one' "ü" \\ end`, 'second $(value)', 'third'];
    const seen: string[] = [];
    try {
      for (const value of values) {
        process.env.DB_PASSWORD = value;
        await deploy(repo);
        assert.equal(await inTask(), value);
        const spec = host.exec('docker', 'service', 'inspect', 'slipway-sw');
        assert.ok(!spec.includes(value), 'the value is not in the service');
        const { Env, Secrets } = (JSON.parse(spec)[0].Spec.TaskTemplate.ContainerSpec ?? {}) as {
          Env: string[];
          Secrets: { File: { Name: string; Mode: number }; SecretName: string }[];
        };
        assert.ok(!Env.some((e) => e.startsWith('DB_PASSWORD=')), Env.join(' '));
        assert.ok(Env.includes('DB_PASSWORD_FILE=/run/secrets/DB_PASSWORD'), Env.join(' '));
        assert.deepEqual(
          Secrets.map((x) => [x.File.Name, x.File.Mode]),
          [['DB_PASSWORD', 0o444]],
        );
        seen.push(Secrets[0]!.SecretName);
        // this spec's and the one before it (where Swarm's own rollback goes); older ones are removed
        assert.deepEqual(secrets().trim().split('\n').sort(), seen.slice(-2).sort());
      }
      assert.equal(new Set(seen).size, 3, 'a changed value is a new secret');
      assert.equal(await page(URL), 'v4\n');
    } finally {
      delete process.env.DB_PASSWORD;
    }
  });
});
