// The deploy flow, top to bottom:
//   prepare (build, select files) → connect → lock → transfer → finalize
//   (shared links, env file, runtime config) → install → before_activate hooks
//   → switch + restart + health → after_activate hooks → record → prune → unlock.
// Any failure before the switch leaves `current` untouched; any failure after
// it puts the previous release back. The lock is released on every path.
import os from 'node:os';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { formatBytes, type Reporter } from '../output/reporter.ts';
import { stageArgv, transfer } from '../release/transfer.ts';
import { appendHistory, historyAppend, type HistoryRecord } from '../server/history.ts';
import { andThen } from '../server/layout.ts';
import { ensureSharedDirs, envFileContent, finalizeRelease, install, removeReleasesArgv, writeEnvFile } from '../server/release.ts';
import { afterDeploy, planPrune, type HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { dockerEnvContent, dockerEnvFile, imageTag } from '../runtime/docker.ts';
import { buildImageLocally, buildImageOnHost, saveImage, shipImage, type SavedImage } from '../runtime/docker-image.ts';
import { activate, healthError, recentLogs, restore } from './activate.ts';
import { openArtifact, prepareRelease, type PreparedRelease } from './prepare.ts';
import { removeImages, reportPruned } from './prune.ts';
import { eachHost, rolloutGroups, withLock, withSession, type Held, type Session } from './session.ts';

export interface DeployOptions {
  allowDirty: boolean;
  /** rolling deploy: hosts per group, or a percentage ("25%"); overrides rollout.limit */
  limit?: number | string;
  /** seconds between groups; overrides rollout.pause */
  pause?: number;
  artifact?: string;
  lockWait?: number;
  command: string;
}

export interface DeployResult {
  release: string;
  previous: Record<string, string | undefined>;
  hosts: string[];
  duration_ms: number;
  bytes_sent: number;
  steps: Reporter['steps'];
}

/** The app's environment: plain vars plus secrets from the deploying machine's environment. */
export function appEnvironment(cfg: ResolvedConfig, source: NodeJS.ProcessEnv = process.env): { vars: Record<string, string>; secretValues: string[] } {
  const vars: Record<string, string> = Object.fromEntries(Object.entries(cfg.env).map(([k, v]) => [k, String(v)]));
  const secretValues: string[] = [];
  for (const name of cfg.secrets) {
    const value = source[name];
    if (value === undefined) {
      throw new SlipwayError('config', `${cfg.file}: secret ${name} is not set in this shell's environment`, { hint: `export ${name}=… before deploying (it is written to the host's env file, never printed)` });
    }
    vars[name] = value;
    secretValues.push(value);
  }
  return { vars, secretValues };
}

export async function deploy(cfg: ResolvedConfig, reporter: Reporter, opts: DeployOptions): Promise<DeployResult> {
  const began = Date.now();
  const env = appEnvironment(cfg);
  reporter.addSecrets(env.secretValues);
  let release: PreparedRelease | undefined;
  const prepare = async () => {
    release = opts.artifact
      ? await reporter.step('Verify and unpack artifact', () => openArtifact(cfg, opts.artifact!))
      : await prepareRelease(cfg, reporter, { allowDirty: opts.allowDirty });
  };
  try {
    return await withSession(cfg, reporter, (s) => deployRelease(s, release!, env.vars, opts, began), { meanwhile: prepare });
  } finally {
    release?.cleanup();
  }
}

function deployRelease(s: Session, release: PreparedRelease, envVars: Record<string, string>, opts: DeployOptions, began: number): Promise<DeployResult> {
  return withLock(s, opts.command, opts.lockWait, (held) => deployLocked(s, held, release, envVars, opts, began));
}

async function deployLocked(s: Session, held: Held, release: PreparedRelease, envVars: Record<string, string>, opts: DeployOptions, began: number): Promise<DeployResult> {
  const { cfg, hosts, reporter, layout: l } = s;
  const { info: lock, states } = held;
  for (const h of hosts) {
    if (states.get(h)!.releases.some((r) => r.id === release.id)) {
      throw new SlipwayError('failure', `${h.name}: release ${release.id} is already on the host`, { hint: `to make it live again: slipway rollback ${cfg.environment} ${release.id}` });
    }
  }
  const started: Host[] = [];
  const activated = new Set<Host>();
  const recordOf = (host: Host, event: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}): HistoryRecord => ({
      time: new Date().toISOString(),
      event,
      app: cfg.app,
      environment: cfg.environment,
      host: host.name,
      release: release.id,
      previous: states.get(host)?.current,
      sha: release.sha,
      subject: release.subject,
      user: lock.user,
      machine: lock.machine,
      command: opts.command,
      ...extra,
    });
  const record = (host: Host, event: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}) => appendHistory(host, l, recordOf(host, event, extra));
  const groups = rolloutGroups(hosts, opts.limit ?? cfg.rollout.limit);
  const pause = opts.pause ?? cfg.rollout.pause;
  let image: SavedImage | undefined;
  let bytesSent = 0;
  try {
    if (cfg.runtime === 'docker' && cfg.docker.build === 'local') {
      const verbose = reporter.opts.verbose ? (line: string) => reporter.info(`  ${line}`) : undefined;
      await reporter.step(`Build image ${imageTag(cfg.app, release.id)}`, () => buildImageLocally(cfg, release.id, release.srcDir, verbose));
      image = await saveImage(cfg, release.id);
    }
    for (const [i, group] of groups.entries()) {
      if (i > 0 && pause > 0) {
        reporter.info(`Pausing ${pause}s before the next group`);
        await new Promise((r) => setTimeout(r, pause * 1000));
      }
      s.checkInterrupted();
      started.push(...group);
      const tag = groups.length > 1 ? `[${i + 1}/${groups.length}: ${group.map((h) => h.name).join(', ')}] ` : '';
      const sent = await deployGroup({ s, group, tag, release, envVars, states, activated, image, record });
      bytesSent += sent;
      // the last group's success is recorded with the pruning and the unlock, in one round trip
      if (i < groups.length - 1) await eachHost(group, (h) => record(h, 'succeeded', { duration_ms: Date.now() - began }), cfg.rollout.concurrency);
    }
    const last = new Set(groups.at(-1));
    const pruned = await eachHost(
      hosts,
      async (h) => {
        const succeeded = recordOf(h, 'succeeded', { duration_ms: Date.now() - began });
        const state = states.get(h)!;
        const ids = planPrune(afterDeploy(state, release.id, succeeded), cfg.keep_releases);
        // one round trip: [record the success,] [prune,] stage the next deploy's tree, unlock
        const history = last.has(h) ? historyAppend(l, succeeded) : undefined;
        const steps = [
          ...(history ? [history.argv] : []),
          ...(ids.length ? [removeReleasesArgv(l, ids, state.manifests)] : []),
          stageArgv(l, release.id, `${release.id}.${release.manifest.digest}`),
        ];
        await held.finish(h, steps.reduce((a, b) => andThen(a, b)), history?.input);
        activated.delete(h);
        await removeImages(s, h, ids);
        return [h.name, ids] as const;
      },
      cfg.rollout.concurrency,
    );
    reportPruned(s, pruned, true);
    reporter.info(`Release ${release.id} is live on ${hosts.map((h) => h.name).join(', ')} (${((Date.now() - began) / 1000).toFixed(2)}s)`);
    return {
      release: release.id,
      previous: Object.fromEntries(hosts.map((h) => [h.name, states.get(h)?.current])),
      hosts: hosts.map((h) => h.name),
      duration_ms: Date.now() - began,
      bytes_sent: bytesSent,
      steps: reporter.steps,
    };
  } catch (e) {
    await failed(s, e, started, activated, states, (h, extra) => record(h, 'failed', { duration_ms: Date.now() - began, ...extra }));
    throw e;
  } finally {
    image?.cleanup();
  }
}

interface GroupDeploy {
  s: Session;
  group: Host[];
  /** step title prefix naming the group in a rolling deploy */
  tag: string;
  release: PreparedRelease;
  envVars: Record<string, string>;
  states: Map<Host, HostState>;
  activated: Set<Host>;
  image?: SavedImage;
  record: (h: Host, event: HistoryRecord['event']) => Promise<void>;
}

/** One group of hosts, from reading their state to the new release passing its health check. Returns the bytes sent. */
async function deployGroup(g: GroupDeploy): Promise<number> {
  const { s, group, tag, release, states, activated } = g;
  const { cfg, reporter, layout: l } = s;
  const each = <T>(fn: (h: Host) => Promise<T>) => eachHost(group, fn, cfg.rollout.concurrency);
  const bytesSent = await reporter.step(`${tag}Transfer ${release.files.length} files`, async (c) => {
    // the transfer writes only into incoming/: recording the start can go alongside
    const stats = await each(async (h) => (await Promise.all([transfer(h, l, release, states.get(h)!, (pct) => c.progress(`${pct}%`)), g.record(h, 'started')]))[0]);
    const sent = stats.reduce((n, t) => n + t.bytesSent, 0);
    c.done(`${stats.reduce((n, t) => n + t.filesSent, 0)} changed, ${formatBytes(sent)} sent`);
    return sent;
  });
  s.checkInterrupted();

  await reporter.step(`${tag}Finalize release`, () =>
    each(async (h) => {
      const owner = cfg.runtime === 'systemd' ? cfg.user : undefined;
      // independent of each other: one round trip's time instead of four
      await Promise.all([
        ensureSharedDirs(h, l, cfg.shared.dirs, owner).then(() => finalizeRelease(h, l, release.id, release.manifest.digest, cfg.shared, release.sha ?? release.id)),
        writeEnvFile(h, l.envFile, envFileContent({ ...g.envVars, ...roleEnv(s.on(h).cfg) }), owner),
        cfg.runtime === 'docker' && writeEnvFile(h, dockerEnvFile(cfg), dockerEnvContent({ ...g.envVars, ...roleEnv(s.on(h).cfg) }), 'root'),
        s.on(h).runtime.configure(h, s.on(h).cfg),
      ]);
    }),
  );
  s.checkInterrupted();

  if (cfg.install.command) {
    await reporter.step(`${tag}Install: ${cfg.install.command}`, async (c) => {
      const how = await each((h) => install(h, l, l.release(release.id), cfg.install.command!, release.installKey, cfg.install.paths, reporter.opts.verbose ? (line) => reporter.info(`  [${h.name}] ${line}`) : undefined));
      c.done(how.every((x) => x === 'cached') ? 'unchanged lockfile: reused' : 'installed');
    });
  }
  if (cfg.runtime === 'docker') await dockerImage(s, group, tag, release, g.image);
  await runHooks(s, group, tag, 'before_activate', release, states);
  s.checkInterrupted();

  await reporter.step(`${tag}${cfg.proxy ? 'Start, health check, switch' : 'Switch, restart, health check'}`, () =>
    each(async (h) => {
      const r = await activate(s, h, release.id, () => activated.add(h));
      if (!r.ok) throw healthError(h, release.id, r, await recentLogs(s, h), 'restoring the previous release');
    }),
  );
  await runHooks(s, group, tag, 'after_activate', release, states);
  return bytesSent;
}

/** A role's own env vars (the environment's are already in the shared set). */
function roleEnv(roleCfg: ResolvedConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(roleCfg.env).map(([k, v]) => [k, String(v)]));
}

/** The release's image on a group's hosts: shipped from here (only missing layers), or built on each host. */
async function dockerImage(s: Session, group: Host[], tag: string, release: PreparedRelease, image: SavedImage | undefined): Promise<void> {
  const { cfg, reporter, layout: l } = s;
  const verbose = reporter.opts.verbose ? (line: string) => reporter.info(`  ${line}`) : undefined;
  if (!image) {
    await reporter.step(`${tag}Build image on the host`, () => eachHost(group, (h) => buildImageOnHost(h, cfg, release.id, l.release(release.id), verbose), cfg.rollout.concurrency));
    return;
  }
  await reporter.step(`${tag}Ship image`, async (c) => {
    const shipped = await eachHost(group, (h) => shipImage(h, image), cfg.rollout.concurrency);
    const first = shipped[0]!;
    c.done(`${first.sent} layer(s) sent, ${first.skipped} already on the host, ${formatBytes(shipped.reduce((n, x) => n + x.bytes, 0))}`);
  });
}

/** The failure path: restore every host that was switched (all groups so far), record the failure. Never throws. */
async function failed(
  s: Session,
  error: unknown,
  started: Host[],
  activated: Set<Host>,
  states: Map<Host, HostState>,
  recordFailed: (h: Host, extra: Partial<HistoryRecord>) => Promise<void>,
): Promise<void> {
  const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  const outcomes = new Map<Host, string>();
  const switched = started.filter((h) => activated.has(h));
  if (switched.length) {
    await s.reporter
      .step(`Restore previous release on ${switched.map((h) => h.name).join(', ')}`, async (c) => {
        const results = await Promise.allSettled(switched.map(async (h) => outcomes.set(h, await restore(s, h, states.get(h)?.current))));
        const bad = results.flatMap((r, i) => (r.status === 'rejected' ? [`${switched[i]!.name}: ${(r.reason as Error).message}`] : []));
        if (bad.length) throw new Error(bad.join('; '));
        c.done([...outcomes.entries()].map(([h, o]) => `${h.name}: ${o}`).join('; '));
      })
      .catch((e: Error) => s.reporter.warn(`restoring failed too: ${e.message}`));
  }
  await Promise.all(
    started.map((h) =>
      recordFailed(h, { reason: `${reason} (${outcomes.get(h) ?? (activated.has(h) ? 'restore failed' : 'current release untouched')})` }).catch((e: Error) =>
        s.reporter.warn(`${h.name}: could not record the failure: ${e.message}`),
      ),
    ),
  );
}

async function runHooks(s: Session, group: Host[], tag: string, phase: 'before_activate' | 'after_activate', release: PreparedRelease, states: Map<Host, HostState>): Promise<void> {
  const { cfg, reporter, layout: l } = s;
  const commands = new Set(group.flatMap((h) => s.on(h).cfg.hooks[phase]));
  if (commands.size === 0) return;
  await reporter.step(`${tag}Hooks ${phase}: ${[...commands].join('; ')}`, () =>
    eachHost(
      group,
      async (h) => {
        const vars = {
          SLIPWAY_APP: cfg.app,
          SLIPWAY_ENV: cfg.environment,
          SLIPWAY_ROLE: h.target.role,
          SLIPWAY_RELEASE: release.id,
          SLIPWAY_RELEASE_PATH: l.release(release.id),
          SLIPWAY_PREVIOUS_RELEASE: states.get(h)?.current ?? '',
          SLIPWAY_REVISION: release.sha ?? '',
          SLIPWAY_DEPLOYER: os.userInfo().username,
          SLIPWAY_HOST: h.name,
        };
        const { cfg: roleCfg, runtime } = s.on(h);
        for (const command of roleCfg.hooks[phase]) {
          const { argv, sudo } = runtime.execArgv(roleCfg, command, { cwd: l.release(release.id), env: vars });
          const r = await h.run(argv, { sudo, reject: false, onLine: reporter.opts.verbose ? (line) => reporter.info(`  [${h.name}] ${line}`) : undefined });
          if (r.exitCode !== 0) {
            throw new SlipwayError('hook', `${h.name}: ${phase} hook failed (exit ${r.exitCode}): ${command}`, {
              details: [r.stderr.trim(), r.stdout.trim()].filter(Boolean).join('\n').split('\n').slice(-30).join('\n') || undefined,
              hint: phase === 'before_activate' ? 'the new release was not activated; the previous one is still serving' : 'the previous release was restored',
            });
          }
        }
      },
      cfg.rollout.concurrency,
    ),
  );
}
