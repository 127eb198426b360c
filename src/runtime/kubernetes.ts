// The kubernetes runtime: slipway renders a Namespace, a Secret (the env file's variables and secrets), a Deployment,
// a Service and, with `kubernetes.ingress`, an Ingress from slipway.yml, applies them with `kubectl apply
// --server-side` on the environment's host (the machine with kubectl and its kubeconfig: `local`, or a server), and
// follows the rollout. A rollout that fails (its readiness probe, mapped from `health:`, never passes, or the
// progress deadline runs out) is rolled back by slipway, by applying the previous kept release's manifests: what
// Kubernetes itself does not do. Every manifest goes to kubectl on stdin, never in an argument.
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import * as z from 'zod';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError, tail } from '../errors.ts';
import { layout } from '../server/layout.ts';
import { parseEnvFile } from '../server/env-file.ts';
import { linkedRelease } from '../server/release.ts';
import type { Host } from '../transport/host.ts';
import { IMAGE_REF } from './docker.ts';
import { buildImageLocally } from './docker-image.ts';
import { execIfSimple } from './exec-form.ts';
import type { ImageShipping, Rollout, RolloutView, Runtime, RuntimeStatus } from './runtime.ts';

type Manifest = Record<string, unknown>;

export function namespaceOf(cfg: Pick<ResolvedConfig, 'app' | 'environment' | 'kubernetes'>): string {
  return cfg.kubernetes.namespace ?? `${cfg.app}-${cfg.environment}`;
}

/** The image a release runs: `docker.image` as given, else the registry's repository tagged with the release. */
export function imageOf(cfg: Pick<ResolvedConfig, 'docker' | 'kubernetes'>, release: string): string {
  return cfg.docker.image ?? `${cfg.kubernetes.registry}:${release}`;
}

const selector = (cfg: ResolvedConfig) => ({
  'app.kubernetes.io/name': cfg.app,
  'app.kubernetes.io/instance': cfg.environment,
});

const labels = (cfg: ResolvedConfig, release: string) => ({
  ...selector(cfg),
  'app.kubernetes.io/managed-by': 'slipway',
  'slipway.dev/release': release,
});

/** the readiness probe from `health:`: the HTTP path on the app's port, or the command in the container */
function probe(cfg: ResolvedConfig): Manifest {
  const h = cfg.health;
  const timing = {
    periodSeconds: Math.max(1, Math.ceil(h.interval)),
    timeoutSeconds: Math.max(1, Math.ceil(h.request_timeout)),
    failureThreshold: 3,
  };
  if (h.command) return { exec: { command: ['/bin/sh', '-c', h.command] }, ...timing };
  return { httpGet: { path: h.path, port: cfg.port }, ...timing };
}

/** Seconds a rollout may take before Kubernetes calls it failed: each new pod's whole health budget. */
export function progressDeadline(cfg: ResolvedConfig): number {
  return Math.ceil(cfg.health.timeout + 3 * Math.max(1, cfg.health.interval)) + 10;
}

/** The manifests of a release (pure); `envDigest` changes the pods' template when the variables change. */
export function manifests(cfg: ResolvedConfig, release: string, envDigest: string): Manifest[] {
  const ns = namespaceOf(cfg);
  const meta = (name: string) => ({ name, namespace: ns, labels: labels(cfg, release) });
  const k = cfg.kubernetes;
  const container: Manifest = {
    name: cfg.app,
    image: imageOf(cfg, release),
    ...(cfg.run ? { command: ['/bin/sh', '-c', execIfSimple(cfg.run)] } : {}),
    ports: [{ name: 'http', containerPort: cfg.port }],
    env: [
      { name: 'PORT', value: String(cfg.port) },
      { name: 'SLIPWAY_RELEASE', value: release },
    ],
    envFrom: [{ secretRef: { name: `${cfg.app}-env` } }],
    readinessProbe: probe(cfg),
    startupProbe: { ...probe(cfg), failureThreshold: Math.max(1, Math.ceil(cfg.health.timeout)), periodSeconds: 1 },
  };
  const deployment: Manifest = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(cfg.app),
    spec: {
      replicas: k.replicas,
      revisionHistoryLimit: cfg.keep_releases,
      progressDeadlineSeconds: progressDeadline(cfg),
      selector: { matchLabels: selector(cfg) },
      // the new pod first, the old one only once it is ready: no drop with one replica
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: labels(cfg, release), annotations: { 'slipway.dev/env-digest': envDigest } },
        spec: { terminationGracePeriodSeconds: Math.ceil(cfg.stop_timeout), containers: [container] },
      },
    },
  };
  const service: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cfg.app),
    spec: { selector: selector(cfg), ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  const ingress = k.ingress && {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(cfg.app),
    spec: {
      ...(k.ingress.class ? { ingressClassName: k.ingress.class } : {}),
      ...(k.ingress.tls_secret ? { tls: [{ hosts: [k.ingress.host], secretName: k.ingress.tls_secret }] } : {}),
      rules: [
        {
          host: k.ingress.host,
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: cfg.app, port: { name: 'http' } } } }],
          },
        },
      ],
    },
  };
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'app.kubernetes.io/managed-by': 'slipway' } },
    },
    deployment,
    service,
    ...(ingress ? [ingress] : []),
  ];
}

/** The Secret holding the app's variables (pure): applied on its own, its text never printed. */
export function envSecret(cfg: ResolvedConfig, vars: Record<string, string>): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${cfg.app}-env`, namespace: namespaceOf(cfg), labels: selector(cfg) },
    type: 'Opaque',
    stringData: vars,
  };
}

/** A digest of the variables, so a changed variable rolls the pods (pure). */
export function envDigest(vars: Record<string, string>): string {
  const text = Object.entries(vars)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** kubectl with the configured context (pure). */
export function kubectl(cfg: Pick<ResolvedConfig, 'kubernetes'>, ...args: string[]): string[] {
  return ['kubectl', ...(cfg.kubernetes.context ? ['--context', cfg.kubernetes.context] : []), ...args];
}

/** The commands of a rollout, each an argv (pure); manifests go on stdin as a JSON List. */
export const commands = {
  apply: (cfg: ResolvedConfig) =>
    kubectl(cfg, 'apply', '--server-side', '--field-manager=slipway', '--force-conflicts', '-f', '-'),
  diff: (cfg: ResolvedConfig) => kubectl(cfg, 'diff', '--server-side', '--field-manager=slipway', '-f', '-'),
  look: (cfg: ResolvedConfig) =>
    kubectl(
      cfg,
      '--namespace',
      namespaceOf(cfg),
      'get',
      'deployment,pods',
      '--selector',
      `app.kubernetes.io/name=${cfg.app},app.kubernetes.io/instance=${cfg.environment}`,
      '--output',
      'json',
    ),
  restart: (cfg: ResolvedConfig) =>
    kubectl(cfg, '--namespace', namespaceOf(cfg), 'rollout', 'restart', `deployment/${cfg.app}`),
  remove: (cfg: ResolvedConfig) =>
    kubectl(cfg, '--namespace', namespaceOf(cfg), 'delete', 'deployment', cfg.app, '--ignore-not-found'),
};

export const list = (items: Manifest[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

interface KubeItem {
  kind: string;
  metadata: { labels?: Record<string, string>; generation?: number; deletionTimestamp?: string };
  spec?: { replicas?: number; template?: { metadata?: { labels?: Record<string, string> } } };
  status?: {
    phase?: string;
    observedGeneration?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { ready: boolean; restartCount?: number }[];
  };
}

/** What `kubectl get deployment,pods -o json` says of the rollout (pure). */
export function parseKubeLook(json: string): RolloutView {
  const items = (JSON.parse(json) as { items: KubeItem[] }).items;
  const d = items.find((i) => i.kind === 'Deployment');
  if (!d) return { service: false, replicas: 0, tasks: [] };
  const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
  const caughtUp = (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  // a condition from before the last apply says nothing of this rollout
  const failed = caughtUp && progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  const replicas = d.spec?.replicas ?? 1;
  const done =
    caughtUp && (d.status?.updatedReplicas ?? 0) >= replicas && (d.status?.availableReplicas ?? 0) >= replicas;
  return {
    service: true,
    replicas,
    update: failed ? 'paused' : done ? 'completed' : 'updating',
    ...(failed && progressing?.message ? { message: progressing.message } : {}),
    spec: d.spec?.template?.metadata?.labels?.['slipway.dev/release'] ?? '',
    tasks: items
      .filter((i) => i.kind === 'Pod' && !i.metadata.deletionTimestamp)
      .map((p) => ({
        state: podState(p),
        release: p.metadata.labels?.['slipway.dev/release'] ?? '',
      })),
  };
}

/** running: every container ready (it passed its readiness probe); starting: running, not ready yet */
function podState(p: KubeItem): string {
  const statuses = p.status?.containerStatuses ?? [];
  if (statuses.length && statuses.every((c) => c.ready)) return 'running';
  return p.status?.phase === 'Running' ? 'starting' : (p.status?.phase ?? 'pending').toLowerCase();
}

async function kube(host: Host, argv: string[], input: string | undefined, what: string): Promise<string> {
  const r = await host.run(argv, { reject: false, ...(input === undefined ? {} : { input }) });
  if (r.exitCode !== 0)
    throw new SlipwayError('failure', `${host.name}: kubectl could not ${what} (exit ${r.exitCode})`, {
      details: tail(r.stderr || r.stdout, 15),
      hint: 'check kubectl on that host: its context and access to the cluster',
    });
  return r.stdout;
}

/** The variables written by the last deploy, kept in the app's env file on the kubectl host (0400, as for any app). */
async function appVars(host: Host, cfg: ResolvedConfig): Promise<Record<string, string>> {
  const r = await host.run(['cat', layout(cfg.appDir).envFile], { reject: false });
  return parseEnvFile(r.stdout);
}

const rollout: Rollout = {
  viaCaddy: false,
  async start(host, cfg, release, restart) {
    const vars = await appVars(host, cfg);
    await kube(host, commands.apply(cfg), list([envSecret(cfg, vars)]), 'apply the Secret');
    await kube(host, commands.apply(cfg), list(manifests(cfg, release, envDigest(vars))), 'apply the manifests');
    if (restart) await kube(host, commands.restart(cfg), undefined, 'restart the deployment');
  },
  async look(host, cfg) {
    return parseKubeLook(await kube(host, commands.look(cfg), undefined, 'read the rollout'));
  },
};

/** Built here and pushed to the registry the cluster pulls from; nothing goes to the kubectl host. */
const kubernetesImages: ImageShipping = {
  pushed: true,
  builtHere: (cfg, release) => (cfg.docker.image ? undefined : imageOf(cfg, release)),
  async buildHere(cfg, release, srcDir, onLine) {
    const tag = imageOf(cfg, release);
    await buildImageLocally(cfg, release, srcDir, onLine, tag);
    const r = await execa('docker', ['push', tag], { all: true, reject: false });
    if (r.exitCode !== 0)
      throw new SlipwayError('failure', `docker push ${tag} failed (exit ${r.exitCode})`, {
        details: tail(String(r.all ?? ''), 20),
        hint: 'log in to the registry here (docker login), or check kubernetes.registry',
      });
    return { cleanup() {} };
  },
  hostStep: (cfg) => `The cluster pulls ${cfg.docker.image}`,
  async buildOnHost() {},
  lacks: async () => ({ image: false, layers: [] }),
  export: async () => ({ bytes: 0 }),
  ship: async () => ({ sent: 0, skipped: 0, bytes: 0 }),
};

export const kubernetesRuntime: Runtime = {
  packages: {},
  hasProcess: true,
  runsOnHost: false,
  image: kubernetesImages,
  rollout,
  watch: () => ({ units: [], files: [] }),
  configProblem: kubernetesProblem,
  appUser: () => undefined,
  async configure() {
    return false;
  },
  async revertConfigure() {},
  async describeConfigure(host, cfg) {
    const release = (await linkedRelease(host, layout(cfg.appDir).current)) ?? 'new';
    const r = await host.run(commands.diff(cfg), {
      reject: false,
      input: list(manifests(cfg, release, envDigest(await appVars(host, cfg)))),
    });
    // kubectl diff: 0 the same, 1 differences, more an error
    if (r.exitCode > 1) return `kubectl diff failed: ${tail(r.stderr, 5)}`;
    return r.exitCode === 0 ? 'the cluster matches the manifests' : r.stdout;
  },
  async restart(host, cfg) {
    await kube(host, commands.restart(cfg), undefined, 'restart the deployment');
  },
  async stop(host, cfg) {
    await kube(host, commands.remove(cfg), undefined, 'delete the deployment');
  },
  async stopLater() {},
  async cancelStop() {},
  async status(host, cfg): Promise<RuntimeStatus[]> {
    const v = await rollout.look(host, cfg);
    if (!v.service) return [{ state: 'no deployment', running: false }];
    if (!v.tasks.length) return [{ state: 'no pod', running: false }];
    return v.tasks.map((t) => ({ state: t.state, running: t.state === 'running', release: t.release }));
  },
  logsArgv(cfg, { lines, follow, since }) {
    const argv = kubectl(
      cfg,
      '--namespace',
      namespaceOf(cfg),
      'logs',
      `deployment/${cfg.app}`,
      '--tail',
      String(lines),
    );
    if (since) argv.push('--since', since);
    if (follow) argv.push('--follow');
    return { argv, sudo: false };
  },
  execArgv(cfg, command, { tty }) {
    const argv = kubectl(cfg, '--namespace', namespaceOf(cfg), 'exec', tty ? '-it' : '-i', `deployment/${cfg.app}`);
    return { argv: [...argv, '--', '/bin/sh', '-c', command], sudo: false };
  },
};

/** What the cluster cannot take from this config: `file:line:col: key: what is wrong → what to do`. */
function kubernetesProblem(cfg: ResolvedConfig, _dir: string, at: (key: string[]) => string): string | undefined {
  if (!cfg.docker.image && !cfg.kubernetes.registry)
    return (
      `${at(['kubernetes', 'registry'])}: kubernetes.registry: required, the cluster pulls each release's image ` +
      'from it → e.g. registry.example.com/shop (or set docker.image)'
    );
  if (cfg.proxy)
    return (
      `${at(['proxy'])}: proxy: runtime: kubernetes is reached through an Ingress, not Caddy → move proxy.domain ` +
      'to kubernetes.ingress.host'
    );
  if (cfg.shared.dirs.length)
    return (
      `${at(['shared', 'dirs'])}: shared.dirs: a pod's files do not outlive it → keep data in a ` +
      'PersistentVolumeClaim or a database, and remove shared.dirs'
    );
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespaceOf(cfg)))
    return (
      `${at(['kubernetes', 'namespace'])}: kubernetes.namespace: "${namespaceOf(cfg)}" is longer than a namespace ` +
      'may be (63 characters) → set kubernetes.namespace'
    );
  return undefined;
}

/** This runtime's own keys of slipway.yml. */
export const kubernetesSettings = {
  kubernetes: z
    .strictObject({
      context: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,252}$/, 'is not a kubectl context name → e.g. prod-cluster')
        .optional()
        .describe('The kubectl context (`kubectl config get-contexts`); default: the current one.'),
      namespace: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'is not a namespace name → lowercase letters, digits and -')
        .optional()
        .describe('Namespace of the app; default `<app>-<environment>`, one per app and environment.'),
      registry: z
        .string()
        .regex(IMAGE_REF, 'is not an image repository → e.g. registry.example.com/shop')
        .refine((r) => !/[:@][^/]*$/.test(r.replace(/^[^/]*\//, '')), 'must be a repository without a tag → drop it')
        .optional()
        .describe("Repository each release's image is pushed to (tag: the release id) and the cluster pulls from."),
      replicas: z.number().int().min(1).max(1000).default(1).describe('Pods of the Deployment.'),
      ingress: z
        .strictObject({
          host: z
            .string()
            .regex(
              /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
              'is not a host name',
            )
            .describe('Host name the Ingress answers.'),
          class: z
            .string()
            .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'is not an IngressClass name')
            .optional()
            .describe('`ingressClassName`; default: the cluster default.'),
          tls_secret: z
            .string()
            .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'is not a Secret name')
            .optional()
            .describe('A TLS Secret in the namespace for the host (e.g. made by cert-manager).'),
        })
        .optional()
        .describe('Publish the app through an Ingress (the Service listens on 80).'),
    })
    .default({ replicas: 1 })
    .describe(
      'With `runtime: kubernetes`: a Deployment, Service and Ingress rendered from this file, applied with ' +
        "`kubectl apply --server-side` on the environment's host, and rolled back by slipway when the rollout fails.",
    ),
};
