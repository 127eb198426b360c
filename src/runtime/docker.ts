// The docker runtime: one image per release, `slipway-<app>:<release id>`,
// built here and shipped without a registry (only the layers the host lacks),
// or built on the host. Containers run with --network host on the app's port
// (or a slot's), restart unless stopped, read the env file and mount the
// shared folders. Images of kept releases stay, so a rollback needs no build
// and no pull.
import path from 'node:path';
import type { ResolvedConfig } from '../config/load.ts';
import { slotPort, type Slot } from './slots.ts';
import { layout, sh } from '../server/layout.ts';
import { SlipwayError, tail } from '../errors.ts';
import { linkedRelease, writeEnvFile } from '../server/release.ts';
import { cancelDrain, scheduleDrain } from './drain.ts';
import { instances, type Runtime, type RuntimeStatus } from './runtime.ts';
import { execIfSimple } from './exec-form.ts';
import { dockerImageShipping, imageTag } from './docker-image.ts';
import START from '../scripts/docker-start.sh';
import EXEC from '../scripts/docker-exec.sh';
import * as z from 'zod';
import { relativePath } from '../config/values.ts';
import LOGS from '../scripts/docker-logs.sh';
import GAVE_UP from '../scripts/docker-gave-up.sh';
import COMPOSE_UP from '../scripts/docker-compose-up.sh';
import { composeAccessories } from './compose.ts';

export function containerName(app: string, slot?: Slot): string {
  return `slipway-${app}-${slot ?? 'main'}`;
}

/** argv printing a line for every change of the containers these filters name (`docker events`) */
export function containerEvents(...filters: string[]): string[] {
  return [
    'docker',
    'events',
    '--format',
    '{{.Action}}',
    '--filter',
    'type=container',
    ...filters.flatMap((f) => ['--filter', f]),
  ];
}

/** The env file in docker's format (KEY=value, no quotes), root-only. */
export function dockerEnvFile(cfg: Pick<ResolvedConfig, 'appDir'>): string {
  return layout(cfg.appDir).dockerEnvFile;
}

export function dockerEnvContent(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** `docker run` argv for a release (pure). */
export function runArgv(cfg: ResolvedConfig, release: string, slot?: Slot): string[] {
  const port = slot ? slotPort(cfg, slot) : cfg.port;
  const l = layout(cfg.appDir);
  const argv = [
    'docker',
    'run',
    '--detach',
    '--name',
    containerName(cfg.app, slot),
    '--restart',
    'unless-stopped',
    '--network',
    'host',
    '--env-file',
    dockerEnvFile(cfg),
    '--env',
    `PORT=${port}`,
    '--env',
    `SLIPWAY_RELEASE=${release}`,
    '--label',
    `slipway.app=${cfg.app}`,
    '--label',
    `slipway.release=${release}`,
    '--stop-timeout',
    String(Math.ceil(cfg.stop_timeout)),
  ];
  for (const d of cfg.shared.dirs) argv.push('--volume', `${l.shared}/${d}:${path.posix.join(cfg.docker.workdir, d)}`);
  argv.push(imageTag(cfg.app, release));
  if (cfg.run) argv.push('/bin/sh', '-c', execIfSimple(cfg.run));
  return argv;
}

/** The host command that starts a release's container, its shared folders first given to the image's user. */
export function startArgv(cfg: ResolvedConfig, release: string, slot?: Slot): string[] {
  const l = layout(cfg.appDir);
  const shared = cfg.shared.dirs.map((d) => `${l.shared}/${d}`);
  const owner = cfg.docker.shared_owner ?? '';
  return sh(
    START,
    containerName(cfg.app, slot),
    imageTag(cfg.app, release),
    owner,
    l.dockerOwner,
    ...shared,
    '--',
    ...runArgv(cfg, release, slot),
  );
}

// $1 lines, $2 since (or empty), $3 follow (or empty), then container names; a slot without a container is skipped

// $1 release folder (or current), $2 app, $3 command, then the docker run argv without the image:
// runs the command in a new container of that release's image

export const dockerRuntime: Runtime = {
  packages: { 'systemd-run': 'systemd', docker: 'docker.io' },
  hasProcess: true,
  runsOnHost: false,
  notLocal: 'runtime: docker needs an SSH host → list a server in hosts',
  image: dockerImageShipping,
  gaveUpArgv: (cfg, slot) => sh(GAVE_UP, containerName(cfg.app, slot)),
  watch: (cfg) => ({
    units: ['docker.service'],
    files: [],
    events: containerEvents(...instances(cfg).map((slot) => `container=${containerName(cfg.app, slot)}`)),
  }),
  packagesFor: (cfg): Record<string, string> => (cfg.docker.compose ? { 'docker-compose': 'docker-compose' } : {}),
  configProblem(cfg, dir) {
    if (!cfg.docker.compose) return undefined;
    const found = composeAccessories(dir, cfg.docker.compose);
    return 'problem' in found ? found.problem : undefined;
  },
  accessories(cfg) {
    if (!cfg.docker.compose) return [];
    const found = composeAccessories(cfg.dir, cfg.docker.compose);
    return 'accessories' in found ? found.accessories : [];
  },
  async startAccessories(host, cfg, releaseDir, accessories, onLine) {
    const file = path.posix.join(releaseDir, cfg.docker.compose!.file);
    const argv = sh(COMPOSE_UP, `slipway-${cfg.app}`, file, layout(cfg.appDir).shared, ...accessories);
    const r = await host.run(argv, { sudo: true, reject: false, onLine });
    if (r.exitCode !== 0)
      throw new SlipwayError('failure', `${host.name}: docker compose could not start ${accessories.join(', ')}`, {
        details: tail(r.stdout || r.stderr, 20),
        hint: `check ${cfg.docker.compose!.file}; the release was not switched`,
      });
  },
  async writeEnv(host, cfg, vars) {
    await writeEnvFile(host, dockerEnvFile(cfg), dockerEnvContent(vars), 'root');
  },
  /** a release's image goes with it; images of kept releases stay for rollbacks */
  async pruneReleases(host, cfg, ids) {
    if (ids.length)
      await host.run(['docker', 'image', 'rm', ...ids.map((id) => imageTag(cfg.app, id))], {
        sudo: true,
        reject: false,
      });
  },
  async configure() {
    return false;
  },
  appUser() {
    return undefined;
  },
  async revertConfigure() {},
  async restart(host, cfg, slot) {
    if (slot) await cancelDrain(host, cfg.app, slot);
    const link = layout(cfg.appDir).instanceLink(slot);
    const release = await linkedRelease(host, link);
    if (!release)
      throw new SlipwayError('failure', `${host.name}: ${link} points at no release`, {
        hint: `deploy first: slipway deploy ${cfg.environment}`,
      });
    await host.run(startArgv(cfg, release, slot), { sudo: true });
  },
  async stop(host, cfg, slot) {
    for (const one of instances(cfg, slot))
      await host.run(['docker', 'stop', '--time', String(Math.ceil(cfg.stop_timeout)), containerName(cfg.app, one)], {
        sudo: true,
        reject: false,
      });
  },
  async stopLater(host, cfg, slot, seconds) {
    // while it drains, a crash does not bring it back
    // (a first deploy's "live" slot has no container: nothing to update)
    await host.run(['docker', 'update', '--restart=no', containerName(cfg.app, slot)], { sudo: true, reject: false });
    await scheduleDrain(host, cfg.app, slot, seconds, ['docker', 'stop', containerName(cfg.app, slot)]);
  },
  async cancelStop(host, cfg, slot) {
    await cancelDrain(host, cfg.app, slot);
    await host.run(['docker', 'update', '--restart=unless-stopped', containerName(cfg.app, slot)], {
      sudo: true,
      reject: false,
    });
  },
  async status(host, cfg): Promise<RuntimeStatus[]> {
    return Promise.all(
      instances(cfg).map(async (slot): Promise<RuntimeStatus> => {
        const r = await host.run(
          [
            'docker',
            'inspect',
            '--format',
            '{{.State.Status}} {{.State.Pid}} {{.RestartCount}} {{.State.StartedAt}} {{index .Config.Labels ' +
              '"slipway.release"}}',
            containerName(cfg.app, slot),
          ],
          { sudo: true, reject: false },
        );
        if (r.exitCode !== 0) return { ...(slot ? { slot } : {}), state: 'no container', running: false };
        const [state = '', pid, restarts, since, release] = r.stdout.trim().split(' ');
        return {
          ...(slot ? { slot } : {}),
          state,
          running: state === 'running',
          pid: Number(pid) || undefined,
          restarts: Number(restarts),
          since,
          release,
        };
      }),
    );
  },
  logsArgv(cfg, { lines, follow, since }) {
    return {
      argv: sh(
        LOGS,
        String(lines),
        since ?? '',
        follow ? 'yes' : '',
        ...instances(cfg).map((one) => containerName(cfg.app, one)),
      ),
      sudo: true,
    };
  },
  execArgv(cfg, command, { cwd, env = {}, tty, port }) {
    const l = layout(cfg.appDir);
    const argv = [
      'docker',
      'run',
      '--rm',
      tty ? '-it' : '-i',
      '--network',
      'host',
      '--env-file',
      dockerEnvFile(cfg),
      '--env',
      `PORT=${port ?? cfg.port}`,
    ];
    for (const [k, v] of Object.entries(env)) argv.push('--env', `${k}=${v}`);
    for (const d of cfg.shared.dirs)
      argv.push('--volume', `${l.shared}/${d}:${path.posix.join(cfg.docker.workdir, d)}`);
    return { argv: sh(EXEC, cwd, cfg.app, command, ...argv), sudo: true };
  },
};

/** an image reference as docker takes it: [registry/]path[:tag][@sha256:digest], lower case path, no scheme */
const REPO_PART = '[a-z0-9]+(?:[._-][a-z0-9]+)*';
export const IMAGE_REF = new RegExp(
  `^(?:[a-z0-9.-]+(?::\\d{1,5})?/)?${REPO_PART}(?:/${REPO_PART})*(?::\\w[\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);

/** This runtime's own keys of slipway.yml. */
export const dockerSettings = {
  docker: z
    .strictObject({
      build: z
        .enum(['local', 'remote'])
        .default('local')
        .describe(
          '`local`: build the image here and ship it over SSH (`docker save`, only the layers the host lacks, ' +
            'into `docker load`); `remote`: build it on the host from the release.',
        ),
      image: z
        .string()
        .regex(IMAGE_REF, 'is not an image reference → e.g. registry.example.com/shop@sha256:… or shop:1.4.2')
        .optional()
        .describe(
          'Run this image (pulled by each host, with its own `docker login`) instead of building one; by digest ' +
            "(`…@sha256:…`) it is exactly that build. Pull mode's image source sets it to each new digest.",
        ),
      dockerfile: relativePath('Dockerfile path')
        .default('Dockerfile')
        .describe('Dockerfile, relative to the app folder.'),
      workdir: z
        .string()
        .regex(/^\/[A-Za-z0-9._/+@-]*$/, 'must be an absolute path in the container of plain characters → e.g. /app')
        .refine((p) => !p.split('/').includes('..'), 'must not contain ".." → e.g. /app')
        .default('/app')
        .describe('Folder in the container where `shared.dirs` are mounted.'),
      compose: z
        .strictObject({
          file: relativePath('compose file').describe('The compose file, relative to the app folder.'),
          service: z
            .string()
            .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a compose service name')
            .describe("The app's own service in it: built and switched by slipway, never started by compose."),
        })
        .optional()
        .describe(
          "Accessories from a compose file: every service but the app's (a database, a cache: each with an " +
            '`image`) is started with docker compose (project `slipway-<app>`, relative paths in `shared/`) ' +
            'before the release goes live, and left running across deploys and rollbacks; compose recreates ' +
            "one only when its definition changed. They reach the app (and it them) on the host's loopback.",
        ),
      shared_owner: z
        .string()
        .regex(/^\d{1,10}(:\d{1,10})?$/, 'must be a uid or uid:gid → e.g. 1000:1000')
        .optional()
        .describe(
          "Owner (uid[:gid]) given to `shared.dirs` before a container starts. Unset: the image's `USER` " +
            "(a name is looked up in the image's /etc/passwd), so an app running as non-root can write them.",
        ),
    })
    .default({ build: 'local', dockerfile: 'Dockerfile', workdir: '/app' })
    .describe(
      'With `runtime: docker`: how images are built. Containers run with `--network host` (the app listens on ' +
        '$PORT), restart unless stopped, get the env file, and keep the images of kept releases so a rollback ' +
        'needs no build and no pull.',
    ),
};
