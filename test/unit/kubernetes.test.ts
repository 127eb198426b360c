import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { type IIngress, Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import {
  commands,
  envDigest,
  envSecret,
  kubernetesRuntime,
  manifests,
  parseKubeLook,
} from '../../src/runtime/kubernetes.ts';
import { rolloutByEngine } from '../../src/runtime/strategies/rollout.ts';
import { strategyFor } from '../../src/runtime/strategies/index.ts';
import { layout } from '../../src/server/layout.ts';
import type { Host, RunOptions, RunResult } from '../../src/transport/host.ts';
import { configError, loadEnvironment } from '../helpers/config.ts';

const YML = `app: shop
runtime: kubernetes
port: 8000
run: gunicorn app:app
stop_timeout: 20
health: { path: /healthz, timeout: 30, interval: 2, request_timeout: 4 }
kubernetes:
  context: prod-cluster
  registry: registry.example.com/team/shop
  replicas: 3
  ingress: { host: shop.example.com, class: nginx, tls_secret: shop-tls }
environments:
  production:
    hosts: [local]
`;
const cfg = loadEnvironment(YML);
const R = '20261203T101500000Z-abc1234';
const MODELS: Record<string, { new (x: never): { validate(): void } }> = {
  Namespace,
  Deployment,
  Service,
  Ingress,
  Secret,
};

/** validated as the API server's schemas would (kubernetes-models): throws with the field that is wrong */
function validate(m: Record<string, unknown>): void {
  const Model = MODELS[m.kind as string];
  assert.ok(Model, `a model for ${m.kind}`);
  new Model(m as never).validate();
}

describe('kubernetes runtime', () => {
  it('renders a Namespace, Deployment, Service and Ingress that pass the Kubernetes schemas', () => {
    const all = manifests(cfg, R, 'd1');
    assert.deepEqual(
      all.map((m) => m.kind),
      ['Namespace', 'Deployment', 'Service', 'Ingress'],
    );
    for (const m of [...all, envSecret(cfg, { A: '1' })]) validate(m);
    // and the schemas do refuse what is wrong, so the check can fail
    const bad = structuredClone(all[1]!) as { spec: { replicas: unknown } };
    bad.spec.replicas = 'three';
    assert.throws(() => validate(bad as never), /replicas/);
  });

  it('the Deployment: start-first rolling update, probes from health:, labels with the release', () => {
    const d = manifests(cfg, R, 'd1')[1] as unknown as IDeployment & { spec: NonNullable<IDeployment['spec']> };
    const labels = {
      'app.kubernetes.io/name': 'shop',
      'app.kubernetes.io/instance': 'production',
      'app.kubernetes.io/managed-by': 'slipway',
      'slipway.dev/release': R,
    };
    assert.deepEqual(d.metadata, { name: 'shop', namespace: 'shop-production', labels });
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    assert.equal(d.spec.replicas, 3);
    // the health budget (30 s and three failed checks 2 s apart) and ten seconds more
    assert.equal(d.spec.progressDeadlineSeconds, 46);
    assert.deepEqual(d.spec.selector, {
      matchLabels: { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/instance': 'production' },
    });
    assert.deepEqual(d.spec.template.metadata, { labels, annotations: { 'slipway.dev/env-digest': 'd1' } });
    assert.equal(d.spec.template.spec!.terminationGracePeriodSeconds, 20);
    assert.deepEqual(d.spec.template.spec!.containers, [
      {
        name: 'shop',
        image: `registry.example.com/team/shop:${R}`,
        command: ['/bin/sh', '-c', 'exec gunicorn app:app'],
        ports: [{ name: 'http', containerPort: 8000 }],
        env: [
          { name: 'PORT', value: '8000' },
          { name: 'SLIPWAY_RELEASE', value: R },
        ],
        envFrom: [{ secretRef: { name: 'shop-env' } }],
        readinessProbe: {
          httpGet: { path: '/healthz', port: 8000 },
          periodSeconds: 2,
          timeoutSeconds: 4,
          failureThreshold: 3,
        },
        startupProbe: {
          httpGet: { path: '/healthz', port: 8000 },
          periodSeconds: 1,
          timeoutSeconds: 4,
          failureThreshold: 30,
        },
      },
    ]);
    const ingress = manifests(cfg, R, 'd1')[3] as unknown as IIngress;
    assert.deepEqual(ingress.spec, {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { name: 'http' } } } }],
          },
        },
      ],
    });
    const plain = loadEnvironment(YML.replace(/ {2}ingress: .*\n/, ''));
    assert.deepEqual(
      manifests(plain, R, 'd1').map((m) => m.kind),
      ['Namespace', 'Deployment', 'Service'],
    );
    const cmd = loadEnvironment(YML.replace('path: /healthz,', 'command: "pg_isready -q",'));
    const probed = manifests(cmd, R, 'd1')[1] as unknown as IDeployment;
    assert.deepEqual(probed.spec!.template.spec!.containers[0]!.readinessProbe!.exec, {
      command: ['/bin/sh', '-c', 'pg_isready -q'],
    });
  });

  it('the variables are a Secret, and a change of them rolls the pods', () => {
    const vars = { DATABASE_URL: "postgres://u:p'$x@db/shop", EMPTY: '' };
    assert.deepEqual(envSecret(cfg, vars), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'shop-env',
        namespace: 'shop-production',
        labels: { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/instance': 'production' },
      },
      type: 'Opaque',
      stringData: vars,
    });
    assert.equal(envDigest(vars), envDigest({ EMPTY: '', DATABASE_URL: vars.DATABASE_URL }));
    assert.notEqual(envDigest(vars), envDigest({ ...vars, EMPTY: 'x' }));
  });

  it('every kubectl command is an argument array with the context; manifests only ever on stdin', () => {
    assert.deepEqual(commands.apply(cfg), [
      'kubectl',
      '--context',
      'prod-cluster',
      'apply',
      '--server-side',
      '--field-manager=slipway',
      '--force-conflicts',
      '-f',
      '-',
    ]);
    assert.deepEqual(commands.diff(cfg), [
      'kubectl',
      '--context',
      'prod-cluster',
      'diff',
      '--server-side',
      '--field-manager=slipway',
      '-f',
      '-',
    ]);
    assert.deepEqual(commands.look(cfg), [
      'kubectl',
      '--context',
      'prod-cluster',
      '--namespace',
      'shop-production',
      'get',
      'deployment,pods',
      '--selector',
      'app.kubernetes.io/name=shop,app.kubernetes.io/instance=production',
      '--output',
      'json',
    ]);
    const noContext = loadEnvironment(YML.replace('  context: prod-cluster\n', ''));
    assert.deepEqual(kubernetesRuntime.logsArgv(noContext, { lines: 50, follow: true, since: '10m' }), {
      argv: [
        'kubectl',
        '--namespace',
        'shop-production',
        'logs',
        'deployment/shop',
        '--tail',
        '50',
        '--since',
        '10m',
        '--follow',
      ],
      sudo: false,
    });
    assert.deepEqual(kubernetesRuntime.execArgv(noContext, 'echo "$PORT" && ls', { cwd: '/x' }), {
      argv: [
        'kubectl',
        '--namespace',
        'shop-production',
        'exec',
        '-i',
        'deployment/shop',
        '--',
        '/bin/sh',
        '-c',
        'echo "$PORT" && ls',
      ],
      sudo: false,
    });
  });

  it('reads a rollout: progressing, complete, failed past its deadline once the controller saw the last apply', () => {
    const look = (d: Record<string, unknown>, pods: Record<string, unknown>[] = []) =>
      parseKubeLook(
        JSON.stringify({ items: [{ kind: 'Deployment', ...d }, ...pods.map((p) => ({ kind: 'Pod', ...p }))] }),
      );
    const spec = { replicas: 1, template: { metadata: { labels: { 'slipway.dev/release': R } } } };
    const pod = (release: string, ready: boolean, phase = 'Running') => ({
      metadata: { labels: { 'slipway.dev/release': release } },
      status: { phase, containerStatuses: [{ ready }] },
    });
    assert.deepEqual(parseKubeLook('{"items":[]}'), { service: false, replicas: 0, tasks: [] });
    const progressing = look({ metadata: { generation: 2 }, spec, status: { observedGeneration: 2 } }, [
      pod('old', true),
      pod(R, false),
      pod('older', false, 'Pending'),
    ]);
    assert.deepEqual(progressing, {
      service: true,
      replicas: 1,
      update: 'updating',
      spec: R,
      tasks: [
        { state: 'running', release: 'old' },
        { state: 'starting', release: R },
        { state: 'pending', release: 'older' },
      ],
    });
    const done = { observedGeneration: 2, updatedReplicas: 1, availableReplicas: 1 };
    assert.equal(look({ metadata: { generation: 2 }, spec, status: done }, [pod(R, true)]).update, 'completed');
    // the controller has not seen the last apply yet: not done, whatever the counts say
    assert.equal(look({ metadata: { generation: 3 }, spec, status: done }).update, 'updating');
    const deadline = {
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "shop-7d9" has timed out progressing.',
    };
    const failed = look({
      metadata: { generation: 2 },
      spec,
      status: { observedGeneration: 2, conditions: [deadline] },
    });
    assert.equal(failed.update, 'paused');
    assert.equal(failed.message, 'ReplicaSet "shop-7d9" has timed out progressing.');
    // a deadline passed by the rollout before the last apply says nothing of this one
    const stale = look({
      metadata: { generation: 3 },
      spec,
      status: { observedGeneration: 2, conditions: [deadline] },
    });
    assert.equal(stale.update, 'updating');
  });

  it('refuses at load what a cluster cannot take, with the place and what to do', () => {
    assert.match(
      configError(YML.replace('  registry: registry.example.com/team/shop\n', '')),
      /^slipway\.yml:8:3: kubernetes\.registry: required, the cluster pulls .* → e\.g\. registry\.example\.com\/shop/,
    );
    assert.match(
      configError(`${YML.replace('[local]', '[kube1]')}proxy: { domain: shop.example.com }\n`),
      /^slipway\.yml:\d+:\d+: proxy: runtime: kubernetes is reached through an Ingress, not Caddy → move proxy\.domain/,
    );
    assert.match(configError(`${YML}shared: { dirs: [uploads] }\n`), /shared\.dirs: a pod's files do not outlive it/);
    assert.match(
      configError(YML.replace('registry: registry.example.com/team/shop', 'registry: reg/shop:1.2')),
      /without a tag/,
    );
    assert.match(configError(YML.replace('context: prod-cluster', 'context: "a b"')), /kubernetes\.context/);
    const long = YML.replace('app: shop', `app: ${'s'.repeat(40)}`).replaceAll('production', `p${'r'.repeat(30)}`);
    assert.match(
      configError(long, `p${'r'.repeat(30)}`),
      /kubernetes\.namespace: ".*" is longer than a namespace may be/,
    );
  });

  it('a rollout: the Secret, then the manifests, on stdin, followed to the end; a failed one reported', async () => {
    const host = new KubeHost();
    const run = { host, cfg, runtime: kubernetesRuntime, layout: layout(cfg.appDir) };
    assert.equal(strategyFor(cfg, kubernetesRuntime), rolloutByEngine);
    const spec = { replicas: 3, template: { metadata: { labels: { 'slipway.dev/release': R } } } };
    const ready = (n: number) => ({
      kind: 'Pod',
      metadata: { labels: { 'slipway.dev/release': R } },
      status: { phase: 'Running', containerStatuses: [{ ready: n >= 0 }] },
    });
    const deployment = (status: Record<string, unknown>) => ({
      kind: 'Deployment',
      metadata: { generation: 4 },
      spec,
      status: { observedGeneration: 4, ...status },
    });
    host.looks = [
      { items: [deployment({ updatedReplicas: 1 }), ready(0)] },
      { items: [deployment({ updatedReplicas: 3, availableReplicas: 3 }), ready(0), ready(1), ready(2)] },
    ];
    let switchedAt = -1;
    const ok = await rolloutByEngine.activate(run, R, () => {
      switchedAt = host.kubectl.length;
    });
    assert.deepEqual(ok, { ok: true, report: 'every pod is ready', switched: true });
    // traffic may move as soon as the manifests are applied: a failure after that puts the previous release back
    assert.equal(switchedAt, 0);
    assert.deepEqual(host.kubectl, [commands.apply(cfg), commands.apply(cfg), commands.look(cfg), commands.look(cfg)]);
    const [secret, applied] = host.inputs.map((i) => JSON.parse(i) as { kind: string; items: { kind: string }[] });
    assert.deepEqual(
      secret!.items.map((m) => m.kind),
      ['Secret'],
    );
    assert.deepEqual(
      applied!.items.map((m) => m.kind),
      ['Namespace', 'Deployment', 'Service', 'Ingress'],
    );
    // the variables reach kubectl on stdin only
    assert.ok(!host.all.some((argv) => argv.join(' ').includes('s3cr3t-value')), host.all.join('\n'));
    assert.match(host.inputs[0]!, /s3cr3t-value/);

    // a restart: the same manifests, then the pods started anew
    const again = new KubeHost();
    again.looks = [{ items: [deployment({ updatedReplicas: 3, availableReplicas: 3 }), ready(0), ready(1), ready(2)] }];
    await rolloutByEngine.activate({ ...run, host: again }, R, () => undefined, { restart: true });
    assert.deepEqual(again.kubectl, [
      commands.apply(cfg),
      commands.apply(cfg),
      commands.restart(cfg),
      commands.look(cfg),
    ]);

    const failing = new KubeHost();
    failing.looks = [
      {
        items: [
          deployment({
            conditions: [
              { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' },
            ],
          }),
        ],
      },
    ];
    const failed = await rolloutByEngine.activate({ ...run, host: failing }, R, () => undefined);
    assert.deepEqual(failed, { ok: false, report: 'the rollout stopped: timed out', switched: true });
  });
});

/** A host with kubectl against a cluster whose answers the test gives: every command is recorded, none is run. */
class KubeHost implements Host {
  readonly name = 'kube1';
  readonly loginUser = 'deploy';
  readonly target = { name: 'kube1', kind: 'ssh', role: 'web' } as Host['target'];
  readonly all: string[][] = [];
  readonly kubectl: string[][] = [];
  readonly inputs: string[] = [];
  looks: unknown[] = [];

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    this.all.push([...argv]);
    if (argv[0] !== 'kubectl') {
      const env = argv[0] === 'cat' ? 'DATABASE_URL="s3cr3t-value"\n' : '';
      return { stdout: env, stderr: '', exitCode: 0 };
    }
    this.kubectl.push([...argv]);
    if (typeof opts.input === 'string') this.inputs.push(opts.input);
    if (argv.includes('get'))
      return { stdout: JSON.stringify(this.looks.shift() ?? { items: [] }), stderr: '', exitCode: 0 };
    return { stdout: '', stderr: '', exitCode: 0 };
  }

  rootArgv(argv: readonly string[]): readonly string[] {
    return argv;
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async attach(): Promise<number> {
    throw new Error('nothing is attached in these tests');
  }
}
