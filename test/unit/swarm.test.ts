import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import APPLY from '../../src/scripts/swarm-apply.sh';
import { withSite } from '../../src/proxy/caddy-config.ts';
import { rolloutStep } from '../../src/runtime/strategies/rollout.ts';
import { strategyFor } from '../../src/runtime/strategies/index.ts';
import { runtimeFor } from '../../src/runtime/index.ts';
import { healthTest, parseLook, serviceSpec, swarmSecrets } from '../../src/runtime/swarm.ts';
import type { RolloutView } from '../../src/runtime/runtime.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const YML =
  'app: shop\nruntime: swarm\nport: 3000\nstop_timeout: 7\nrun: ./server --port $PORT\nshared:\n  dirs: [storage]\n' +
  'health: { path: "/up?x=it\'s", timeout: 12, interval: 2, request_timeout: 3 }\nswarm: { replicas: 2 }\n' +
  'proxy:\n  port: 8080\nenvironments:\n  production:\n    hosts: [web1]\n';
const cfg = loadEnvironment(YML);
const S = 1e9;

describe('swarm runtime', () => {
  it("the service's spec: start-first, rolled back by Swarm, the health check, labels, mounts, placement", () => {
    assert.deepEqual(serviceSpec(cfg, 'R1'), {
      Name: 'slipway-shop',
      Labels: { 'slipway.app': 'shop', 'slipway.release': 'R1' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'slipway-shop:R1',
          Labels: { 'slipway.app': 'shop', 'slipway.release': 'R1' },
          Command: ['/bin/sh', '-c', 'exec ./server --port $PORT'],
          Env: ['PORT=3000', 'SLIPWAY_RELEASE=R1'],
          Mounts: [{ Type: 'bind', Source: '/srv/shop/shared/storage', Target: '/app/storage' }],
          StopGracePeriod: 7 * S,
          Healthcheck: { Test: healthTest(cfg), Interval: 2 * S, Timeout: 3 * S, Retries: 3, StartPeriod: 12 * S },
        },
        RestartPolicy: { Condition: 'any', Delay: S },
        Placement: { Constraints: ['node.labels.slipway.shop==true'] },
        Networks: [{ Target: 'slipway-shop' }],
      },
      Mode: { Replicated: { Replicas: 2 } },
      // the monitor window covers the whole health budget: 12 s and three failed attempts 2 s apart, and one more
      UpdateConfig: {
        Parallelism: 1,
        Order: 'start-first',
        Monitor: 19 * S,
        MaxFailureRatio: 0,
        FailureAction: 'rollback',
      },
      RollbackConfig: {
        Parallelism: 1,
        Order: 'start-first',
        Monitor: 19 * S,
        MaxFailureRatio: 0,
        FailureAction: 'pause',
      },
    });
  });

  it('the health check runs in the task with curl, or wget, the URL quoted for the shell', () => {
    const url = `'http://127.0.0.1:3000/up?x=it'\\''s'`;
    assert.deepEqual(healthTest(cfg), [
      'CMD-SHELL',
      `if command -v curl >/dev/null 2>&1; then test "$(curl -s -o /dev/null -m 3 -w '%{http_code}' ${url})" = 200; ` +
        `else wget -q -T 3 -O /dev/null ${url}; fi`,
    ]);
    const own = loadEnvironment(YML.replace(/health: .*\n/, 'health: { command: "pg_isready -q" }\n'));
    assert.deepEqual(healthTest(own), ['CMD-SHELL', 'pg_isready -q']);
  });

  it("reads what the host says of the service and this node's tasks", () => {
    assert.deepEqual(parseLook('none\n', 3000), { service: false, replicas: 0, tasks: [] });
    assert.deepEqual(
      parseLook(
        'rollback_completed R1 2 update rolled back due to failure\nrunning R1 172.19.0.3\nstarting R2 \n',
        3000,
      ),
      {
        service: true,
        replicas: 2,
        update: 'rollback_completed',
        spec: 'R1',
        message: 'update rolled back due to failure',
        tasks: [
          { state: 'running', release: 'R1', dial: '172.19.0.3:3000' },
          { state: 'starting', release: 'R2' },
        ],
      },
    );
    assert.deepEqual(parseLook('- R1 1 \nrunning R1 172.19.0.2\n', 3000).update, undefined);
  });

  it('a rollout is done when every wanted task runs the release, failed when Swarm took the spec back', () => {
    const view = (v: Partial<RolloutView>): RolloutView => ({
      service: true,
      replicas: 1,
      spec: 'R2',
      tasks: [],
      ...v,
    });
    const run = (release: string) => ({ state: 'running', release, dial: '172.19.0.2:3000' });
    assert.deepEqual(rolloutStep(view({ update: 'updating', tasks: [run('R1')] }), 'R2'), { do: 'wait' });
    // the new task passes while the old one still runs: not done until only the new one is left
    assert.deepEqual(rolloutStep(view({ update: 'updating', tasks: [run('R1'), run('R2')] }), 'R2'), { do: 'wait' });
    assert.deepEqual(rolloutStep(view({ update: 'completed', tasks: [run('R2')] }), 'R2'), { do: 'done' });
    // a first deploy has no update state
    assert.deepEqual(rolloutStep(view({ tasks: [run('R2')] }), 'R2'), { do: 'done' });
    assert.deepEqual(rolloutStep(view({ replicas: 2, tasks: [run('R2')] }), 'R2'), { do: 'wait' });
    // an update's state left from before this one started: still waiting for its tasks
    assert.deepEqual(rolloutStep(view({ update: 'completed', tasks: [run('R1')] }), 'R2'), { do: 'wait' });
    assert.deepEqual(
      rolloutStep(view({ update: 'rollback_started', spec: 'R1', message: 'update paused', tasks: [run('R1')] }), 'R2'),
      { do: 'failed', why: 'Swarm rolled the update back (rollback_started: update paused)' },
    );
    // putting back what Swarm already rolled back to: its rollback state is no failure of this rollout
    assert.deepEqual(rolloutStep(view({ update: 'rollback_completed', spec: 'R1', tasks: [run('R1')] }), 'R1'), {
      do: 'done',
    });
    assert.deepEqual(rolloutStep(view({ update: 'rollback_paused', spec: 'R2', tasks: [] }), 'R2'), {
      do: 'failed',
      why: 'the rollout stopped',
    });
  });

  it("rolled out by Swarm, not by slipway's slots; refused without the proxy or on the local target", () => {
    assert.equal(strategyFor(cfg, runtimeFor(cfg)).name, 'rollout');
    assert.match(configError(YML.replace(/proxy:\n {2}port: 8080\n/, '')), /runtime: swarm is reached through Caddy/);
    assert.match(configError(YML.replace('hosts: [web1]', 'hosts: [local]')), /runtime: swarm needs an SSH host/);
    assert.match(configError(YML.replace('replicas: 2', 'replicas: 0')), /swarm\.replicas/);
    assert.match(
      configError(YML.replace('hosts: [web1]', 'hosts: [web1, web2]')),
      /^slipway\.yml:\d+:\d+: hosts: runtime: swarm runs the service from one manager host per environment/,
    );
    const join = 'join: { manager: "10.0.0.5:2377", token_file: /etc/slipway/swarm-token }';
    assert.deepEqual(loadEnvironment(YML.replace('replicas: 2', join)).swarm.join, {
      manager: '10.0.0.5:2377',
      token_file: '/etc/slipway/swarm-token',
    });
    assert.match(configError(YML.replace('replicas: 2', `init: true, ${join}`)), /swarm\.join: .*exclude each other/);
    assert.match(configError(YML.replace('replicas: 2', join.replace('10.0.0.5:2377', 'http://x'))), /manager address/);
    assert.match(
      configError(YML.replace('replicas: 2', join.replace('/etc/slipway/', '/etc/../'))),
      /must not contain/,
    );
  });

  it('secrets go in the environment, or as Swarm secrets with swarm.secrets: files', () => {
    const withSecrets = YML.replace('stop_timeout: 7\n', 'stop_timeout: 7\nsecrets: [DB_URL, API_KEY]\n');
    assert.deepEqual(swarmSecrets(loadEnvironment(withSecrets)), []);
    const files = loadEnvironment(withSecrets.replace('replicas: 2', 'replicas: 2, secrets: files'));
    assert.deepEqual(swarmSecrets(files), ['DB_URL', 'API_KEY']);
    assert.equal(files.swarm.secrets, 'files');
    assert.match(configError(YML.replace('replicas: 2', 'secrets: volumes')), /swarm\.secrets/);
  });

  it('an empty secret as a Swarm secret is refused on the host before the engine is asked anything', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-swarm-apply-'));
    try {
      const asked = path.join(dir, 'asked');
      // the engine's clients, standing in: any call at all is written down
      for (const tool of ['docker', 'curl']) {
        writeFileSync(path.join(dir, tool), `#!/bin/sh\necho "$0 $*" >> ${asked}\nexit 1\n`);
        chmodSync(path.join(dir, tool), 0o755);
      }
      const env = path.join(dir, 'env');
      writeFileSync(env, 'API_KEY=k3y $x\nDB_PASSWORD=\n');
      const r = spawnSync('sh', ['-c', APPLY, 'slipway', 'slipway-shop', env, '', 'shop', 'DB_PASSWORD'], {
        input: '{}',
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /^secret DB_PASSWORD is empty, and a Swarm secret holds at least one byte → give it/);
      assert.ok(!existsSync(asked), 'the engine was asked nothing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("setup keeps the upstreams and their balancing that a rollout set in Caddy's site", () => {
    const handler = {
      handler: 'reverse_proxy',
      '@id': 'slipway_shop_proxy',
      upstreams: [{ dial: '172.19.0.2:3000' }, { dial: '172.19.0.3:3000' }],
      load_balancing: { try_duration: '5s', try_interval: '100ms' },
    };
    type Route = { '@id': string; handle: unknown[] };
    const first = withSite({}, cfg as Parameters<typeof withSite>[1]).config as {
      apps: { http: { servers: Record<string, { routes: Route[] }> } };
    };
    const route = first.apps.http.servers.slipway_8080!.routes.find((r) => r['@id'] === 'slipway_shop')!;
    route.handle = [handler];
    const again = withSite(first, cfg as Parameters<typeof withSite>[1]);
    assert.equal(again.changed, false);
  });
});
