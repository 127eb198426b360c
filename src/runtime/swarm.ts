// The swarm runtime: each release's image (built and shipped as for the docker runtime, `slipway-<app>:<release>`)
// runs as one Swarm service, `slipway-<app>`, that Swarm itself rolls out: the new task starts first, must pass the
// health check mapped from `health:`, and a failing update is rolled back by Swarm. slipway follows the rollout,
// routes Caddy to the tasks of this node that pass (their addresses on the app's bridge network), and reports a
// rollback as a failed deploy. slipway keeps its own releases, so a rollback may go to any kept one, not only the
// one before. Secrets and variables reach the spec on the host from the root-only env file, never in an argument;
// with `swarm.secrets: files` the secrets become Swarm secrets instead, kept out of the spec.
import path from 'node:path';
import * as z from 'zod';
import { hostFile } from '../config/values.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { shellQuote, SlipwayError, tail } from '../errors.ts';
import { isProxied, routedUpstreams, routeTo } from '../proxy/caddy.ts';
import { layout, sh } from '../server/layout.ts';
import { linkedRelease, writeEnvFile } from '../server/release.ts';
import type { Host } from '../transport/host.ts';
import { containerEvents, dockerEnvContent, dockerEnvFile, dockerRuntime } from './docker.ts';
import { dockerImageShipping, imageTag } from './docker-image.ts';
import { execIfSimple } from './exec-form.ts';
import type { Rollout, RolloutView, Runtime, RuntimeStatus } from './runtime.ts';
import APPLY from '../scripts/swarm-apply.sh';
import LOOK from '../scripts/swarm-look.sh';
import CONFIGURE from '../scripts/swarm-configure.sh';

const NS = 1e9;

export function serviceName(app: string): string {
  return `slipway-${app}`;
}

/** the app's bridge network: one on each node, so the host's Caddy reaches the node's tasks */
export function networkName(app: string): string {
  return `slipway-${app}`;
}

/** the node label that places the app's tasks: setup puts it on each host of the environment */
export function nodeLabel(app: string): string {
  return `slipway.${app}`;
}

/**
 * The health check Swarm runs in the task, from `health:`: the command as given, or the HTTP path requested with curl
 * (or wget, where the image has no curl) on the task's own port.
 */
export function healthTest(cfg: ResolvedConfig): string[] {
  const h = cfg.health;
  if (h.command) return ['CMD-SHELL', h.command];
  const url = shellQuote(`http://127.0.0.1:${cfg.port}${h.path}`);
  const t = String(Math.ceil(h.request_timeout));
  const shell =
    `if command -v curl >/dev/null 2>&1; then test "$(curl -s -o /dev/null -m ${t} -w '%{http_code}' ${url})" = ` +
    `${h.status}; else wget -q -T ${t} -O /dev/null ${url}; fi`;
  return ['CMD-SHELL', shell];
}

/** Seconds Swarm watches a started task before it counts as updated: the health check's whole budget. */
export function monitorSeconds(cfg: ResolvedConfig): number {
  return Math.ceil(cfg.health.timeout + 3 * healthInterval(cfg)) + 1;
}

const healthInterval = (cfg: ResolvedConfig) => Math.max(1, cfg.health.interval);

/** The service's spec for a release, as the Engine API takes it, without the env file's lines (pure). */
export function serviceSpec(cfg: ResolvedConfig, release: string): Record<string, unknown> {
  const l = layout(cfg.appDir);
  const labels = { 'slipway.app': cfg.app, 'slipway.release': release };
  const monitor = monitorSeconds(cfg) * NS;
  const rollout = { Parallelism: 1, Order: 'start-first', Monitor: monitor, MaxFailureRatio: 0 };
  return {
    Name: serviceName(cfg.app),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: imageTag(cfg.app, release),
        Labels: labels,
        ...(cfg.run ? { Command: ['/bin/sh', '-c', execIfSimple(cfg.run)] } : {}),
        Env: [`PORT=${cfg.port}`, `SLIPWAY_RELEASE=${release}`],
        Mounts: cfg.shared.dirs.map((d) => ({
          Type: 'bind',
          Source: `${l.shared}/${d}`,
          Target: path.posix.join(cfg.docker.workdir, d),
        })),
        StopGracePeriod: Math.ceil(cfg.stop_timeout) * NS,
        Healthcheck: {
          Test: healthTest(cfg),
          Interval: healthInterval(cfg) * NS,
          Timeout: Math.ceil(cfg.health.request_timeout) * NS,
          Retries: 3,
          StartPeriod: Math.ceil(cfg.health.timeout) * NS,
        },
      },
      RestartPolicy: { Condition: 'any', Delay: NS },
      Placement: { Constraints: [`node.labels.${nodeLabel(cfg.app)}==true`] },
      Networks: [{ Target: networkName(cfg.app) }],
    },
    Mode: { Replicated: { Replicas: cfg.swarm.replicas } },
    UpdateConfig: { ...rollout, FailureAction: 'rollback' },
    RollbackConfig: { ...rollout, FailureAction: 'pause' },
  };
}

/** The variables the tasks get as Swarm secrets (files in /run/secrets) instead of in the spec (pure). */
export function swarmSecrets(cfg: ResolvedConfig): string[] {
  return cfg.swarm.secrets === 'files' ? cfg.secrets : [];
}

/** What swarm-look.sh printed (pure). */
export function parseLook(out: string, port: number): RolloutView {
  const [head = 'none', ...lines] = out.split('\n').filter(Boolean);
  if (head === 'none') return { service: false, replicas: 0, tasks: [] };
  const [update, spec = '', replicas = '1', ...message] = head.split(' ');
  return {
    service: true,
    replicas: Number(replicas) || 1,
    ...(update && update !== '-' ? { update } : {}),
    spec,
    ...(message.length ? { message: message.join(' ') } : {}),
    tasks: lines.map((line) => {
      const [state = '', release = '', address = ''] = line.split(' ');
      return { state, release, ...(address ? { dial: `${address.split('/')[0]}:${port}` } : {}) };
    }),
  };
}

async function look(host: Host, cfg: ResolvedConfig): Promise<RolloutView> {
  const r = await host.run(sh(LOOK, serviceName(cfg.app), networkName(cfg.app)), { sudo: true });
  return parseLook(r.stdout, cfg.port);
}

async function apply(host: Host, cfg: ResolvedConfig, release: string, force: boolean): Promise<void> {
  const spec = JSON.stringify(serviceSpec(cfg, release));
  const argv = sh(APPLY, serviceName(cfg.app), dockerEnvFile(cfg), force ? 'force' : '', cfg.app, ...swarmSecrets(cfg));
  const r = await host.run(argv, { sudo: true, input: spec, reject: false });
  if (r.exitCode !== 0)
    throw new SlipwayError('failure', `${host.name}: Swarm refused the service ${serviceName(cfg.app)}`, {
      details: tail(r.stderr || r.stdout, 15),
    });
}

/** Route Caddy to the tasks of this node that pass their health check, when there are any. */
async function routeToTasks(host: Host, cfg: ResolvedConfig): Promise<boolean> {
  if (!isProxied(cfg)) return false;
  const dials = running(await look(host, cfg)).map((t) => t.dial!);
  return dials.length > 0 && routeTo(host, cfg, dials);
}

const running = (v: RolloutView) => v.tasks.filter((t) => t.state === 'running' && t.dial);

const rollout: Rollout = {
  viaCaddy: true,
  start: (host, cfg, release, restart) => apply(host, cfg, release, !!restart),
  look,
};

export const swarmRuntime: Runtime = {
  packages: { docker: 'docker.io', jq: 'jq', curl: 'curl', 'systemd-run': 'systemd' },
  hasProcess: true,
  runsOnHost: false,
  notLocal: 'runtime: swarm needs an SSH host → list a server in hosts',
  needsProxy: "runtime: swarm is reached through Caddy, which routes to the service's tasks → add a proxy section",
  provision: { title: 'swarm', changed: 'swarm, network or node label set up' },
  image: dockerImageShipping,
  rollout,
  configProblem: (cfg, _dir, at) =>
    cfg.targets.length > 1
      ? `${at(['hosts'])}: hosts: runtime: swarm runs the service from one manager host per environment for now → ` +
        'list one host (Swarm places the tasks), or run one environment per host'
      : undefined,
  watch: (cfg) => ({
    units: ['docker.service'],
    files: [],
    // the tasks' containers: one Swarm replaces (a crash) comes back at another address
    events: containerEvents(`label=com.docker.swarm.service.name=${serviceName(cfg.app)}`),
  }),
  async writeEnv(host, cfg, vars) {
    await writeEnvFile(host, dockerEnvFile(cfg), dockerEnvContent(vars), 'root');
  },
  pruneReleases: dockerRuntime.pruneReleases,
  appUser: () => undefined,
  async configure(host, cfg) {
    const { init, join } = cfg.swarm;
    const mode = init ? 'init' : join ? 'join' : '';
    const argv = sh(
      CONFIGURE,
      mode,
      networkName(cfg.app),
      nodeLabel(cfg.app),
      join?.manager ?? '',
      join?.token_file ?? '',
    );
    const r = await host.run(argv, { sudo: true, reject: false });
    if (r.exitCode !== 0)
      throw new SlipwayError('failure', `${host.name}: ${r.stderr.trim() || `swarm set-up failed (${r.exitCode})`}`);
    // Caddy follows tasks Swarm replaced by itself (a crash, a node restart); a Caddy not running yet is setup's
    // next step to start, and a deploy's to find
    const routed = await routeToTasks(host, cfg).catch(() => false);
    return !!r.stdout.trim() || routed;
  },
  async revertConfigure() {},
  async configDrift(host, cfg) {
    if (!isProxied(cfg)) return undefined;
    const v = await look(host, cfg);
    const dials = running(v).map((t) => t.dial!);
    const routed = await routedUpstreams(host, cfg);
    return dials.length && routed !== undefined && routed.join(' ') !== dials.join(' ')
      ? `Caddy routes to ${routed.join(', ') || 'nothing'}, the tasks are at ${dials.join(', ')}`
      : undefined;
  },
  async restart(host, cfg) {
    const release = await linkedRelease(host, layout(cfg.appDir).current);
    if (!release)
      throw new SlipwayError('failure', `${host.name}: nothing deployed yet`, {
        hint: `deploy first: slipway deploy ${cfg.environment}`,
      });
    await apply(host, cfg, release, true);
  },
  async stop(host, cfg) {
    await host.run(['docker', 'service', 'rm', serviceName(cfg.app)], { sudo: true, reject: false });
  },
  // Swarm stops the old task itself once the new one passes
  async stopLater() {},
  async cancelStop() {},
  async status(host, cfg): Promise<RuntimeStatus[]> {
    const v = await look(host, cfg);
    if (!v.service) return [{ state: 'no service', running: false }];
    if (!v.tasks.length) return [{ state: 'no task on this node', running: false }];
    return v.tasks.map((t) => ({
      state: t.state,
      running: t.state === 'running',
      release: t.release,
      ...(v.update ? { detail: `update ${v.update}` } : {}),
    }));
  },
  logsArgv(cfg, { lines, follow, since }) {
    const argv = ['docker', 'service', 'logs', '--raw', '--tail', String(lines)];
    if (since) argv.push('--since', since);
    if (follow) argv.push('--follow');
    return { argv: [...argv, serviceName(cfg.app)], sudo: true };
  },
  execArgv: dockerRuntime.execArgv,
};

/** This runtime's own keys of slipway.yml. */
export const swarmSettings = {
  swarm: z
    .strictObject({
      init: z
        .boolean()
        .default(false)
        .describe('`setup` starts a single-node swarm (`docker swarm init`) on a host that is in none.'),
      join: z
        .strictObject({
          manager: z
            .string()
            .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'is not a manager address → e.g. 10.0.0.5:2377')
            .describe("A manager's address (`host:port`, port 2377 as a rule)."),
          token_file: hostFile().describe(
            'A root-only file on the host holding a manager join token (`docker swarm join-token -q manager`), ' +
              'never in slipway.yml.',
          ),
        })
        .optional()
        .describe(
          '`setup` joins a host that is in no swarm to an existing one, as a manager (slipway runs the service ' +
            'from it); the token goes to the engine on stdin, never in an argument.',
        ),
      replicas: z.number().int().min(1).max(100).default(1).describe('Tasks of the service.'),
      secrets: z
        .enum(['env', 'files'])
        .default('env')
        .describe(
          '`files`: each of `secrets` becomes a Swarm secret, mounted at `/run/secrets/NAME` (mode 0444) with ' +
            '`NAME_FILE` naming it, and is kept out of the service spec; `env`: in the environment, as with `docker`.',
        ),
    })
    .refine((w) => !(w.init && w.join), { message: '`init` and `join` exclude each other → keep one', path: ['join'] })
    .default({ init: false, replicas: 1, secrets: 'env' })
    .describe(
      'With `runtime: swarm`: the app runs as a Swarm service rolled out by Swarm (start-first, health-checked, ' +
        'rolled back by Swarm on failure), from a manager host; images are built and shipped as for `docker`.',
    ),
};
