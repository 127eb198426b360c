// The deploy flow, top to bottom:
//   deploy window → local checks → prepare (build, select files) → connect →
//   lock → host checks → transfer → finalize (shared links, env file, runtime
//   config) → install → approval → before_activate hooks → wait_for →
//   switch + restart + health → after_activate hooks → verification window →
//   record → prune → unlock.
// Any failure before the switch leaves `current` untouched; any failure after
// it puts the previous release back (a failed verification also marks the
// release bad). The lock is released on every path; webhooks hear every event.
import os from 'node:os';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { MIN_SECRET_LENGTH } from '../secrets/redact.ts';
import { formatBytes } from '../text.ts';
import type { Events } from './events.ts';
import { stageArgv, transfer } from '../release/transfer.ts';
import { desiredArgv, nextDesired } from '../server/desired.ts';
import { appendHistory, historyAppend, type HistoryRecord } from '../server/history.ts';
import { andThen } from '../server/layout.ts';
import {
  ensureSharedDirs,
  envFileContent,
  finalizeRelease,
  install,
  removeReleasesArgv,
  writeEnvFile,
} from '../server/release.ts';
import { afterDeploy, planPrune, type HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import type { ShipImage } from '../runtime/runtime.ts';
import { activate, healthError, recentLogs, restore, servingPort } from './activate.ts';
import { buildDepsOnce, manifestFor } from './deps.ts';
import {
  awaitApproval,
  readApproval,
  runHostChecks,
  runLocalChecks,
  VerificationError,
  verifyWindow,
  waitForConditions,
} from './guardrails.ts';
import { webhooks } from './notify.ts';
import { windowRefusal } from './windows.ts';
import { readSecrets } from '../secrets/store.ts';
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
  /** deploy outside the deploy windows (recorded) */
  force?: boolean;
  /** a promotion: the release (already made) and the environment it comes from */
  promote?: { from: string; release: () => Promise<PreparedRelease> };
  /** the hosts to deploy through instead of connecting to the config's targets (tests) */
  hosts?: Host[];
}

export interface DeployResult {
  release: string;
  previous: Record<string, string | undefined>;
  hosts: string[];
  duration_ms: number;
  bytes_sent: number;
  steps: Events['steps'];
}

/**
 * The app's environment: plain vars, every secret of the environment's encrypted
 * secrets file, and each name in `secrets:` (from that file, else this shell's environment).
 */
export function appEnvironment(
  cfg: ResolvedConfig,
  source: NodeJS.ProcessEnv = process.env,
  fromFile: Record<string, string> = {},
): { vars: Record<string, string>; secretValues: string[] } {
  const vars: Record<string, string> = Object.fromEntries(Object.entries(cfg.env).map(([k, v]) => [k, String(v)]));
  const secretValues = new Set<string>();
  const secret = (name: string, value: string) => {
    if (value && value.length < MIN_SECRET_LENGTH) {
      throw new SlipwayError(
        'config',
        `${cfg.file}: secret ${name} is shorter than ${MIN_SECRET_LENGTH} characters → a value that short ` +
          `cannot be told apart from ordinary output to redact it: use a longer one, or make it a plain \`env\` value`,
      );
    }
    vars[name] = value;
    if (value) secretValues.add(value);
  };
  for (const [name, value] of Object.entries(fromFile)) secret(name, value);
  for (const name of cfg.secrets) {
    const value = fromFile[name] ?? source[name];
    if (value === undefined) {
      throw new SlipwayError(
        'config',
        `${cfg.file}: secret ${name} is not set: not in secrets/${cfg.environment}.age, nor in this shell's ` +
          `environment`,
        {
          hint:
            `slipway secrets set ${cfg.environment} ${name} (encrypted in the repository), or export ` +
            `${name}=… before deploying; it is written to the host's env file, never printed`,
        },
      );
    }
    secret(name, value);
  }
  return { vars, secretValues: [...secretValues] };
}

export async function deploy(cfg: ResolvedConfig, events: Events, opts: DeployOptions): Promise<DeployResult> {
  const began = Date.now();
  const hooks = webhooks(cfg, events);
  const run = new Guarded(events);
  try {
    const refusal = windowRefusal(cfg.windows, new Date(), cfg.file);
    if (refusal) {
      if (!opts.force)
        throw new SlipwayError('guardrail', `${cfg.environment}: ${refusal}`, {
          hint: 'deploy inside a window, or pass --force (the override is recorded in the history)',
        });
      events.warn(`${cfg.environment}: ${refusal}; deploying anyway (--force, recorded)`);
      run.force(`window: ${refusal}`);
    }
    const env = appEnvironment(cfg, process.env, await readSecrets(cfg));
    events.addSecrets(env.secretValues);
    run.pass(await runLocalChecks(cfg, events));
    let release: PreparedRelease | undefined;
    const prepare = async () => {
      if (opts.promote) release = await opts.promote.release();
      else if (opts.artifact)
        release = await events.step('Verify and unpack artifact', () => openArtifact(cfg, opts.artifact!));
      else release = await prepareRelease(cfg, events, { allowDirty: opts.allowDirty });
      // a promoted release is shipped as it is: its dependencies too, if the first environment got them built here
      if (cfg.install.command && cfg.install.once && !opts.promote)
        release.deps = await buildDepsOnce(cfg, events, release);
    };
    try {
      return await withSession(
        cfg,
        events,
        (s) =>
          withLock(s, opts.command, opts.lockWait, (held) =>
            deployLocked(s, held, release!, env.vars, opts, began, run),
          ),
        { meanwhile: prepare, hosts: opts.hosts },
      );
    } finally {
      release?.cleanup();
    }
  } catch (e) {
    if (!run.reported) {
      // stopped before reaching the hosts (window, local check, build): still recorded there
      if (e instanceof SlipwayError && e.kind === 'guardrail') await recordHalt(cfg, events, opts.command, e.message);
      events.lifecycle('failed', { hosts: cfg.targets.map((t) => t.name), reason: firstLine(e) });
    }
    throw e;
  } finally {
    await hooks.flush();
  }
}

/** What the guardrails did on the way, for the history and the webhooks: each one also an event. */
class Guarded {
  readonly forced: string[] = [];
  readonly passed: string[] = [];
  /** the outcome was recorded on the hosts and notified */
  reported = false;

  constructor(private readonly events: Events) {}

  pass(texts: string[]): void {
    for (const text of texts.filter((t) => !this.passed.includes(t))) {
      this.passed.push(text);
      this.events.emit({ type: 'guardrail', state: 'passed', text });
    }
  }

  force(text: string): void {
    this.forced.push(text);
    this.events.emit({ type: 'guardrail', state: 'forced', text });
  }
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

/** A deploy a guardrail stopped before it reached the hosts: a `halted` record on each (best effort). */
async function recordHalt(cfg: ResolvedConfig, events: Events, command: string, reason: string): Promise<void> {
  try {
    await withSession(
      cfg,
      events,
      (s) =>
        withLock(s, command, 0, (held) =>
          eachHost(s.hosts, async (h) => {
            const halted: HistoryRecord = {
              time: new Date().toISOString(),
              event: 'halted',
              app: cfg.app,
              environment: cfg.environment,
              host: h.name,
              release: '',
              user: held.info.user,
              machine: held.info.machine,
              command,
              reason: events.redact(reason),
            };
            const { argv, input } = historyAppend(s.layout, halted);
            await held.finish(h, argv, input);
            events.recorded(h.name, halted);
          }),
        ),
      { connectStep: false },
    );
  } catch (e) {
    events.warn(`could not record the halt on the hosts: ${firstLine(e)}`);
  }
}

async function deployLocked(
  s: Session,
  held: Held,
  release: PreparedRelease,
  envVars: Record<string, string>,
  opts: DeployOptions,
  began: number,
  run: Guarded,
): Promise<DeployResult> {
  const { cfg, hosts, events, layout: l } = s;
  const { info: lock, states } = held;
  for (const h of hosts) {
    // a user the runtime cannot run the app as is refused here, before anything is sent
    s.on(h).runtime.appUser(s.on(h).cfg, h);
    if (states.get(h)!.releases.some((r) => r.id === release.id)) {
      throw new SlipwayError('failure', `${h.name}: release ${release.id} is already on the host`, {
        hint: `to make it live again: slipway rollback ${cfg.environment} ${release.id}`,
      });
    }
  }
  const started: Host[] = [];
  const activated = new Set<Host>();
  // hosts whose runtime config this deploy changed: put back if it fails, or the previous release runs under it
  const configured = new Set<Host>();
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
    ...(opts.promote ? { promoted_from: opts.promote.from } : {}),
    ...extra,
  });
  const record = async (host: Host, event: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}) => {
    const written = recordOf(host, event, extra);
    await appendHistory(host, l, written);
    events.recorded(host.name, written);
  };
  const recordAll = (event: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}) =>
    eachHost(hosts, (h) => record(h, event, extra));
  const groups = rolloutGroups(hosts, opts.limit ?? cfg.rollout.limit);
  const pause = opts.pause ?? cfg.rollout.pause;
  const event = {
    release: release.id,
    hosts: hosts.map((h) => h.name),
    ...(opts.promote ? { promoted_from: opts.promote.from } : {}),
  };
  // asked once, before the first group runs any hook or goes live
  let approving: Promise<void> | undefined;
  const approve = () =>
    (approving ??= (async () => {
      if (!cfg.approval.required) return;
      await recordAll('approval_requested');
      const a = await awaitApproval(s, release.id, () => {
        events.emit({ type: 'approval', release: release.id, state: 'waiting' });
        events.lifecycle('waiting_for_approval', {
          ...event,
          approve: `slipway approve ${release.id}`,
          reject: `slipway reject ${release.id}`,
        });
      }).catch(async (e: unknown) => {
        const answer = (await readApproval(hosts[0]!, l, release.id).catch(() => undefined)) ?? undefined;
        events.emit({ type: 'approval', release: release.id, state: 'rejected', by: answer?.by });
        await recordAll('rejected', { by: answer?.by, reason: events.redact(firstLine(e)) });
        throw e;
      });
      events.emit({ type: 'approval', release: release.id, state: 'approved', by: a.by });
      await recordAll('approved', { by: a.by });
      run.pass([`approval: ${a.by} at ${a.at}`]);
    })());
  let image: ShipImage | undefined;
  let bytesSent = 0;
  try {
    run.pass(await runHostChecks(s));
    events.lifecycle('started', { ...event, previous: states.get(hosts[0]!)?.current });
    const shipping = s.runtime.image;
    const builtHere = shipping?.builtHere(cfg, release.id);
    if (shipping && builtHere)
      image = await events.step(
        `Build image ${builtHere}`,
        () => shipping.buildHere(cfg, release.id, release.srcDir, events.output()),
        'image',
      );
    for (const [i, group] of groups.entries()) {
      if (i > 0 && pause > 0) {
        events.info(`Pausing ${pause}s before the next group`);
        await new Promise((r) => setTimeout(r, pause * 1000));
      }
      s.checkInterrupted();
      started.push(...group);
      const tag = groups.length > 1 ? `[${i + 1}/${groups.length}: ${group.map((h) => h.name).join(', ')}] ` : '';
      const sent = await deployGroup({
        s,
        group,
        tag,
        release,
        envVars,
        states,
        activated,
        configured,
        image,
        record: (h, e) => record(h, e, e === 'started' && run.forced.length ? { forced: run.forced } : {}),
        approve,
        run,
      });
      bytesSent += sent;
      // the last group's success is recorded with the pruning and the unlock, in one round trip
      if (i < groups.length - 1)
        await eachHost(
          group,
          (h) => record(h, 'succeeded', { duration_ms: Date.now() - began, guardrails: run.passed }),
          cfg.rollout.concurrency,
        );
    }
    const last = new Set(groups.at(-1));
    const pruned = await eachHost(
      hosts,
      async (h) => {
        const succeeded = recordOf(h, 'succeeded', {
          duration_ms: Date.now() - began,
          ...(run.passed.length ? { guardrails: run.passed } : {}),
        });
        const state = states.get(h)!;
        const ids = planPrune(afterDeploy(state, release.id, succeeded), cfg.keep_releases);
        // one round trip: [record the success,] what the host should run, [prune,] stage the next deploy's tree,
        // unlock
        const history = last.has(h) ? historyAppend(l, succeeded) : undefined;
        const manifest = `${release.id}.${manifestFor(release, state.platform).digest}`;
        const desired = nextDesired(
          s.on(h).cfg,
          state,
          { id: release.id, manifest },
          { ...lock, command: opts.command },
        );
        const steps = [
          ...(history ? [history.argv] : []),
          desiredArgv(l, desired),
          ...(ids.length ? [removeReleasesArgv(l, ids, state.manifests)] : []),
          stageArgv(l, release.id, manifest),
        ];
        await held.finish(
          h,
          steps.reduce((a, b) => andThen(a, b)),
          history?.input,
        );
        if (history) events.recorded(h.name, succeeded);
        activated.delete(h);
        await removeImages(s, h, ids);
        return [h.name, ids] as const;
      },
      cfg.rollout.concurrency,
    );
    reportPruned(s, pruned, true);
    run.reported = true;
    events.lifecycle('succeeded', { ...event, duration_ms: Date.now() - began });
    events.info(
      `Release ${release.id} is live on ${hosts.map((h) => h.name).join(', ')} ` +
        `(${((Date.now() - began) / 1000).toFixed(2)}s)`,
    );
    return {
      release: release.id,
      previous: Object.fromEntries(hosts.map((h) => [h.name, states.get(h)?.current])),
      hosts: hosts.map((h) => h.name),
      duration_ms: Date.now() - began,
      bytes_sent: bytesSent,
      steps: events.steps,
    };
  } catch (e) {
    run.reported = true;
    const reason = events.redact(firstLine(e));
    if (!started.length) {
      // a guardrail (or a failure) before anything was sent: nothing changed
      await recordAll('halted', { reason, ...(run.forced.length ? { forced: run.forced } : {}) }).catch((err: Error) =>
        events.warn(`could not record the halt: ${err.message}`),
      );
      events.lifecycle('failed', { ...event, reason });
      throw e;
    }
    const restored = await failed(s, e, { started, activated, configured }, states, (h, extra) =>
      record(h, 'failed', { duration_ms: Date.now() - began, ...extra }),
    );
    if (e instanceof VerificationError) {
      await eachHost(started, (h) => record(h, 'marked_bad', { by: 'slipway (verification failed)', reason })).catch(
        (err: Error) => events.warn(`could not mark ${release.id} bad: ${err.message}`),
      );
      events.warn(`Release ${release.id} is marked bad: rollbacks skip it and it is never promoted`);
    }
    events.lifecycle('failed', { ...event, reason, duration_ms: Date.now() - began });
    if (restored.length)
      events.lifecycle('rolled_back', {
        ...event,
        release: states.get(restored[0]!)?.current,
        hosts: restored.map((h) => h.name),
        reason: `restored after: ${reason}`,
      });
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
  configured: Set<Host>;
  image?: ShipImage;
  record: (h: Host, event: HistoryRecord['event']) => Promise<void>;
  /** the approval gate: resolves once approved (asked once per deploy) */
  approve: () => Promise<void>;
  run: Guarded;
}

/** One group of hosts, from reading their state to the new release passing its health check. Returns the bytes sent. */
async function deployGroup(g: GroupDeploy): Promise<number> {
  const { s, group, tag, release, states, activated } = g;
  const { cfg, events, layout: l } = s;
  const each = <T>(fn: (h: Host) => Promise<T>) => eachHost(group, fn, cfg.rollout.concurrency);
  const shipped = (h: Host) => manifestFor(release, states.get(h)!.platform);
  const bytesSent = await events.step(`${tag}Transfer ${release.files.length} files`, async (c) => {
    // the transfer writes only into incoming/: recording the start can go alongside
    const ship = (h: Host) =>
      transfer(h, l, { ...release, manifest: shipped(h) }, states.get(h)!, (pct) => c.progress(`${pct}%`));
    const stats = await each(async (h) => (await Promise.all([ship(h), g.record(h, 'started')]))[0]);
    const sent = stats.reduce((n, t) => n + t.bytesSent, 0);
    c.done(`${stats.reduce((n, t) => n + t.filesSent, 0)} changed, ${formatBytes(sent)} sent`);
    return sent;
  });
  s.checkInterrupted();

  await events.step(`${tag}Finalize release`, () =>
    each(async (h) => {
      const owner = s.on(h).runtime.appUser(s.on(h).cfg, h);
      // independent of each other: one round trip's time instead of four
      await Promise.all([
        ensureSharedDirs(h, l, cfg.shared.dirs, owner).then(() =>
          finalizeRelease(h, l, release.id, shipped(h).digest, cfg.shared, release.sha ?? release.id),
        ),
        writeEnvFile(h, l.envFile, envFileContent({ ...g.envVars, ...roleEnv(s.on(h).cfg) }), owner),
        s.on(h).runtime.writeEnv?.(h, s.on(h).cfg, { ...g.envVars, ...roleEnv(s.on(h).cfg) }),
        s
          .on(h)
          .runtime.configure(h, s.on(h).cfg)
          .then((changed) => changed && g.configured.add(h)),
      ]);
    }),
  );
  s.checkInterrupted();

  // hosts that received dependencies built here have nothing to install
  const installing = group.filter((h) => shipped(h) === release.manifest);
  if (cfg.install.command && installing.length) {
    await events.step(`${tag}Install: ${cfg.install.command}`, async (c) => {
      const how = await eachHost(
        installing,
        (h) =>
          install(
            h,
            l,
            l.release(release.id),
            { ...cfg.install, command: cfg.install.command!, key: release.installKey },
            events.output(h.name),
          ),
        cfg.rollout.concurrency,
      );
      const on = release.deps
        ? ` on ${installing.map((h) => h.name).join(', ')} (another platform than this machine)`
        : '';
      c.done(`${how.every((x) => x === 'cached') ? 'unchanged lockfile: reused' : 'installed'}${on}`);
    });
  }
  if (s.runtime.image) await imageOnHosts(s, group, tag, release, g.image);
  await g.approve();
  await runHooks(s, group, tag, 'before_activate', release, states);
  s.checkInterrupted();
  g.run.pass(await waitForConditions(s, group, tag, l.release(release.id)));
  s.checkInterrupted();

  await events.step(
    `${tag}${cfg.proxy ? 'Start, health check, switch' : 'Switch, restart, health check'}`,
    () =>
      each(async (h) => {
        const r = await activate(s, h, release.id, () => activated.add(h));
        if (!r.ok) throw healthError(h, release.id, r, await recentLogs(s, h), 'restoring the previous release');
      }),
    'activate',
  );
  await runHooks(s, group, tag, 'after_activate', release, states);
  if (cfg.verify.duration > 0) {
    await verifyWindow(s, group, tag, release.id);
    const passed = `verified for ${cfg.verify.duration}s`;
    g.run.pass([passed]);
  }
  return bytesSent;
}

/** A role's own env vars (the environment's are already in the shared set). */
function roleEnv(roleCfg: ResolvedConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(roleCfg.env).map(([k, v]) => [k, String(v)]));
}

/** The release's image on a group's hosts: shipped from here (only missing layers), or built on each host. */
async function imageOnHosts(
  s: Session,
  group: Host[],
  tag: string,
  release: PreparedRelease,
  image: ShipImage | undefined,
): Promise<void> {
  const { cfg, events, layout: l } = s;
  const shipping = s.runtime.image!;
  if (!image) {
    await events.step(
      `${tag}Build image on the host`,
      () =>
        eachHost(
          group,
          (h) => shipping.buildOnHost(h, cfg, release.id, l.release(release.id), events.output()),
          cfg.rollout.concurrency,
        ),
      'image',
    );
    return;
  }
  await events.step(
    `${tag}Ship image`,
    async (c) => {
      const shipped = await eachHost(group, (h) => shipping.ship(h, image), cfg.rollout.concurrency);
      const first = shipped[0]!;
      c.done(
        `${first.sent} layer(s) sent, ${first.skipped} already on the host, ` +
          `${formatBytes(shipped.reduce((n, x) => n + x.bytes, 0))}`,
      );
    },
    'image',
  );
}

/**
 * The failure path: restore every host that was switched (all groups so far), record the failure. Never throws;
 * returns the hosts put back.
 */
async function failed(
  s: Session,
  error: unknown,
  hosts: { started: Host[]; activated: Set<Host>; configured: Set<Host> },
  states: Map<Host, HostState>,
  recordFailed: (h: Host, extra: Partial<HistoryRecord>) => Promise<void>,
): Promise<Host[]> {
  const { started, activated } = hosts;
  const reason = s.events.redact(firstLine(error));
  const outcomes = new Map<Host, string>();
  await revertConfigs(
    s,
    started.filter((h) => hosts.configured.has(h)),
  );
  const switched = started.filter((h) => activated.has(h));
  if (switched.length) {
    await s.events
      .step(`Restore previous release on ${switched.map((h) => h.name).join(', ')}`, async (c) => {
        const results = await Promise.allSettled(
          switched.map(async (h) => outcomes.set(h, await restore(s, h, states.get(h)?.current))),
        );
        const bad = results.flatMap((r, i) =>
          r.status === 'rejected' ? [`${switched[i]!.name}: ${(r.reason as Error).message}`] : [],
        );
        if (bad.length) throw new Error(bad.join('; '));
        c.done([...outcomes.entries()].map(([h, o]) => `${h.name}: ${o}`).join('; '));
      })
      .catch((e: Error) => s.events.warn(`restoring failed too: ${e.message}`));
  }
  await Promise.all(
    started.map((h) =>
      recordFailed(h, {
        reason: `${reason} (${outcomes.get(h) ?? (activated.has(h) ? 'restore failed' : 'current release untouched')})`,
      }).catch((e: Error) => s.events.warn(`${h.name}: could not record the failure: ${e.message}`)),
    ),
  );
  return [...outcomes.keys()];
}

/** Put back the runtime config a failed deploy replaced (the unit), before the previous release is restarted. */
async function revertConfigs(s: Session, hosts: Host[]): Promise<void> {
  if (!hosts.length) return;
  await s.events
    .step(`Restore the previous runtime config on ${hosts.map((h) => h.name).join(', ')}`, () =>
      Promise.all(hosts.map((h) => s.on(h).runtime.revertConfigure(h, s.on(h).cfg))),
    )
    .catch((e: Error) => s.events.warn(`restoring the runtime config failed: ${e.message}`));
}

async function runHooks(
  s: Session,
  group: Host[],
  tag: string,
  phase: 'before_activate' | 'after_activate',
  release: PreparedRelease,
  states: Map<Host, HostState>,
): Promise<void> {
  const { cfg, events, layout: l } = s;
  const commands = new Set(group.flatMap((h) => s.on(h).cfg.hooks[phase]));
  if (commands.size === 0) return;
  await events.step(`${tag}Hooks ${phase}: ${[...commands].join('; ')}`, () =>
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
        const port = await servingPort(s, h);
        for (const command of roleCfg.hooks[phase]) {
          const { argv, sudo } = runtime.execArgv(roleCfg, command, { cwd: l.release(release.id), env: vars, port });
          const r = await h.run(argv, {
            sudo,
            reject: false,
            onLine: events.output(h.name),
          });
          if (r.exitCode !== 0) {
            throw new SlipwayError('hook', `${h.name}: ${phase} hook failed (exit ${r.exitCode}): ${command}`, {
              details:
                [r.stderr.trim(), r.stdout.trim()].filter(Boolean).join('\n').split('\n').slice(-30).join('\n') ||
                undefined,
              hint:
                phase === 'before_activate'
                  ? 'the new release was not activated; the previous one is still serving'
                  : 'the previous release was restored',
            });
          }
        }
      },
      cfg.rollout.concurrency,
    ),
  );
}
