// The deploy: the window and local checks, the release prepared here while the hosts are
// connected, then under the lock the phases of ./phases (checks, transfer, finalize, install,
// image, approval, hooks, wait_for, activate, verify, record), group by group in a rolling
// deploy. Any failure before the switch leaves `current` untouched; any failure after it puts
// the previous release back (a failed verification also marks the release bad). The lock is
// released on every path; webhooks hear every event.
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { MIN_SECRET_LENGTH } from '../secrets/redact.ts';
import { readSecrets } from '../secrets/store.ts';
import { appendHistory, historyAppend, type HistoryRecord, historyRecord } from '../server/history.ts';
import type { LockInfo } from '../server/lock.ts';
import type { HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { restore } from './activate.ts';
import { buildDepsOnce, manifestFor } from './deps.ts';
import type { Events } from './events.ts';
import { awaitApproval, readApproval, runLocalChecks, VerificationError } from './guardrails.ts';
import { webhooks } from './notify.ts';
import { byScope, DEPLOY_PHASES } from './phases/index.ts';
import { type DeployRun, forcedOf, type HostView, hostView, type Phase } from './phases/phase.ts';
import { succeededOf } from './phases/record.ts';
import { openArtifact, prepareRelease, type PreparedRelease } from './prepare.ts';
import { eachHost, rolloutGroups, withLock, withSession, type Held, type Session } from './session.ts';
import { windowRefusal } from './windows.ts';

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
  /** a sync: the release (already on a peer host, copied from it) that lagging hosts catch up to */
  synced?: () => Promise<PreparedRelease>;
  /** hosts (of a sync) whose copy of the synced release has changed files: it is sent whole and replaces it */
  replace?: string[];
  /** go on without the hosts that cannot be reached (they show OutOfSync until `slipway sync`) */
  allowUnreachable?: boolean;
  /** the hosts to deploy through instead of connecting to the config's targets (tests) */
  hosts?: Host[];
  /**
   * a deploy made on the host itself (the agent's pull, a git push): the host's own env file, no checks meant for a
   * laptop, the lock held as who deploys with a lease, and (a pulled artifact) the release its signed index names
   */
  onHost?: { release?: string; envFile: Record<string, string>; lock: Pick<LockInfo, 'user' | 'expires'> };
  /** the commit the files to deploy were exported from (a git push: the folder is no git checkout) */
  commit?: { sha: string; subject: string };
}

export interface DeployResult {
  release: string;
  previous: Record<string, string | undefined>;
  hosts: string[];
  /** hosts left out because they could not be reached (--allow-unreachable) */
  unreachable: string[];
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

/**
 * The app's environment for a deploy made on the host (the agent's): the config's plain values, and the secrets as
 * the host's env file holds them, written there by the last deploy from a machine that could decrypt them.
 */
export function hostEnvironment(
  cfg: ResolvedConfig,
  envFile: Record<string, string>,
): { vars: Record<string, string>; secretValues: string[] } {
  const missing = cfg.secrets.filter((n) => envFile[n] === undefined);
  if (missing.length)
    throw new SlipwayError('config', `secret ${missing.join(', ')}: not in the host's env file`, {
      hint: `deploy once from a machine with the ${cfg.environment} key (slipway deploy ${cfg.environment})`,
    });
  const secrets = Object.fromEntries(cfg.secrets.map((n) => [n, envFile[n]!]));
  return appEnvironment({ ...cfg, secrets: [] }, {}, secrets);
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
    const { onHost } = opts;
    const env = onHost
      ? hostEnvironment(cfg, onHost.envFile)
      : appEnvironment(cfg, process.env, await readSecrets(cfg));
    events.addSecrets(env.secretValues);
    if (!onHost) run.pass(await runLocalChecks(cfg, events));
    let release: PreparedRelease | undefined;
    const prepare = async () => {
      release = await releaseOf(cfg, events, opts);
    };
    try {
      return await withSession(
        cfg,
        events,
        (s) => {
          warnUnreachable(s);
          return withLock(
            s,
            opts.command,
            opts.lockWait,
            (held) => deployLocked({ s, held, release: release!, envVars: env.vars, opts, began, guard: run }),
            onHost?.lock,
          );
        },
        { meanwhile: prepare, hosts: opts.hosts, allowUnreachable: opts.allowUnreachable },
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

/** The release to deploy: promoted, synced, an artifact, or built here. */
async function releaseOf(cfg: ResolvedConfig, events: Events, opts: DeployOptions): Promise<PreparedRelease> {
  const { onHost } = opts;
  let release: PreparedRelease;
  if (opts.promote) release = await opts.promote.release();
  else if (opts.synced) release = await opts.synced();
  else if (opts.artifact)
    release = await events.step('Verify and unpack artifact', () => openArtifact(cfg, opts.artifact!));
  else release = await prepareRelease(cfg, events, { allowDirty: opts.allowDirty, commit: opts.commit });
  if (onHost?.release && release.id !== onHost.release) {
    release.cleanup();
    throw new SlipwayError('config', `the artifact holds ${release.id}, not ${onHost.release} as its index says`);
  }
  // a promoted release is shipped as it is: its dependencies too, if the first environment got them built here;
  // on the host nothing is built for it (the install command runs there as the app's user, as always)
  if (cfg.install.command && cfg.install.once && !opts.promote && !opts.synced && !onHost)
    release.deps = await buildDepsOnce(cfg, events, release).catch((e: unknown) => {
      release.cleanup();
      throw e;
    });
  return release;
}

function warnUnreachable(s: Session): void {
  for (const u of s.unreachable)
    s.events.warn(
      `${u.host} is left out (--allow-unreachable): ${u.reason}; it shows OutOfSync in slipway status until ` +
        `slipway sync ${s.cfg.environment}`,
    );
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
            const halted = historyRecord(cfg, h.name, 'halted', {
              release: '',
              user: held.info.user,
              machine: held.info.machine,
              command,
              reason: events.redact(reason),
            });
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

type Lifecycle = { release: string; hosts: string[]; promoted_from?: string };

/** What a deploy holds once the hosts are locked. */
interface Locked {
  s: Session;
  held: Held;
  release: PreparedRelease;
  envVars: Record<string, string>;
  opts: DeployOptions;
  began: number;
  guard: Guarded;
}

async function deployLocked(locked: Locked): Promise<DeployResult> {
  const { s, held, release, opts, began, guard } = locked;
  const event: Lifecycle = {
    release: release.id,
    hosts: s.hosts.map((h) => h.name),
    ...(opts.promote ? { promoted_from: opts.promote.from } : {}),
  };
  const r = newRun(locked, event);
  refuseUnfit(s, held, release, r.replacing);
  try {
    await runFlow(r, opts, event);
    guard.reported = true;
    s.events.lifecycle('succeeded', { ...event, duration_ms: Date.now() - began });
    s.events.info(
      `Release ${release.id} is live on ${event.hosts.join(', ')} (${((Date.now() - began) / 1000).toFixed(2)}s)`,
    );
    return {
      release: release.id,
      previous: Object.fromEntries(s.hosts.map((h) => [h.name, held.states.get(h)?.current])),
      hosts: event.hosts,
      unreachable: s.unreachable.map((u) => u.host),
      duration_ms: Date.now() - began,
      bytes_sent: r.bytesSent,
      steps: s.events.steps,
    };
  } catch (e) {
    guard.reported = true;
    await deployFailed(r, e, event);
    throw e;
  } finally {
    r.image?.cleanup();
  }
}

/** Refused before anything is sent: a user the runtime cannot run the app as, a release already on a host. */
function refuseUnfit(s: Session, held: Held, release: PreparedRelease, replacing: Set<Host>): void {
  for (const h of s.hosts) {
    s.on(h).runtime.appUser(s.on(h).cfg, h);
    if (!replacing.has(h) && held.states.get(h)!.releases.some((x) => x.id === release.id)) {
      throw new SlipwayError('failure', `${h.name}: release ${release.id} is already on the host`, {
        hint: `to make it live again: slipway rollback ${s.cfg.environment} ${release.id}`,
      });
    }
  }
}

function newRun({ s, held, release, envVars, opts, began, guard }: Locked, event: Lifecycle): DeployRun {
  const { cfg, events } = s;
  const recordOf = (host: Host, kind: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}): HistoryRecord =>
    historyRecord(cfg, host.name, kind, {
      release: release.id,
      previous: held.states.get(host)?.current,
      sha: release.sha,
      subject: release.subject,
      user: held.info.user,
      machine: held.info.machine,
      command: opts.command,
      ...(opts.promote ? { promoted_from: opts.promote.from } : {}),
      ...extra,
    });
  const record = async (host: Host, kind: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}) => {
    const written = recordOf(host, kind, extra);
    await appendHistory(host, s.layout, written);
    events.recorded(host.name, written);
  };
  let approving: Promise<void> | undefined;
  const r: DeployRun = {
    s,
    held,
    release,
    envVars,
    command: opts.command,
    began,
    guard,
    started: [],
    activated: new Set(),
    configured: new Set(),
    replacing: new Set(s.hosts.filter((h) => opts.replace?.includes(h.name))),
    recordedHosts: new Set(),
    bytesSent: 0,
    record,
    recordOf,
    approve: () => (approving ??= askApproval(r, event)),
  };
  return r;
}

const recordAll = (r: DeployRun, kind: HistoryRecord['event'], extra: Partial<HistoryRecord> = {}) =>
  eachHost(r.s.hosts, (h) => r.record(h, kind, extra));

async function askApproval(r: DeployRun, event: Lifecycle): Promise<void> {
  const { s, release } = r;
  const { events } = s;
  if (!s.cfg.approval.required) return;
  await recordAll(r, 'approval_requested');
  const a = await awaitApproval(s, release.id, () => {
    events.emit({ type: 'approval', release: release.id, state: 'waiting' });
    events.lifecycle('waiting_for_approval', {
      ...event,
      approve: `slipway approve ${release.id}`,
      reject: `slipway reject ${release.id}`,
    });
  }).catch(async (e: unknown) => {
    const answer = (await readApproval(s.hosts[0]!, s.layout, release.id).catch(() => undefined)) ?? undefined;
    events.emit({ type: 'approval', release: release.id, state: 'rejected', by: answer?.by });
    await recordAll(r, 'rejected', { by: answer?.by, reason: events.redact(firstLine(e)) });
    throw e;
  });
  events.emit({ type: 'approval', release: release.id, state: 'approved', by: a.by });
  await recordAll(r, 'approved', { by: a.by });
  r.guard.pass([`approval: ${a.by} at ${a.at}`]);
}

/** The phases in order: those for every host, then group by group (a rolling deploy), then the end. */
async function runFlow(r: DeployRun, opts: DeployOptions, event: Lifecycle): Promise<void> {
  const { s } = r;
  const [before, perGroup, after] = byScope(DEPLOY_PHASES);
  const groups = rolloutGroups(s.hosts, opts.limit ?? s.cfg.rollout.limit);
  const pause = opts.pause ?? s.cfg.rollout.pause;
  await runPhases(r, before, s.hosts, '');
  s.events.lifecycle('started', { ...event, previous: r.held.states.get(s.hosts[0]!)?.current });
  for (const [i, group] of groups.entries()) {
    if (i > 0 && pause > 0) {
      s.events.info(`Pausing ${pause}s before the next group`);
      await new Promise((done) => setTimeout(done, pause * 1000));
    }
    s.checkInterrupted();
    const tag = groups.length > 1 ? `[${i + 1}/${groups.length}: ${group.map((h) => h.name).join(', ')}] ` : '';
    await runPhases(r, perGroup, group, tag);
    // the last group's success is recorded with the pruning and the unlock, in one round trip
    if (i < groups.length - 1) {
      await eachHost(group, (h) => r.record(h, 'succeeded', succeededOf(r, h)), s.cfg.rollout.concurrency);
      for (const h of group) r.recordedHosts.add(h);
    }
  }
  await runPhases(r, after, s.hosts, '');
}

async function runPhases(r: DeployRun, phases: Phase[], hosts: Host[], tag: string): Promise<void> {
  for (const p of phases) {
    const on = hosts.filter((h) => p.applies(viewOf(r, h)));
    if (on.length) await r.s.events.phase(p.name, () => p.run(r, on, tag));
  }
}

/** How a deploy's phases see a host: it receives the dependencies built here when its platform is this one's. */
function viewOf(r: DeployRun, h: Host): HostView {
  return hostView(r.s, h, manifestFor(r.release, r.held.states.get(h)!.platform) !== r.release.manifest);
}

/** The failure path: halted when nothing was sent, else restore, record, and mark bad after a failed verification. */
async function deployFailed(r: DeployRun, e: unknown, event: Lifecycle): Promise<void> {
  const { s, release, began } = r;
  const { events } = s;
  const reason = events.redact(firstLine(e));
  if (!r.started.length) {
    // a guardrail (or a failure) before anything was sent: nothing changed
    await recordAll(r, 'halted', { reason, ...forcedOf(r.guard) }).catch((err: Error) =>
      events.warn(`could not record the halt: ${err.message}`),
    );
    events.lifecycle('failed', { ...event, reason });
    return;
  }
  const restored = await failed(s, e, r, r.held.states, (h, extra) =>
    r.record(h, 'failed', { duration_ms: Date.now() - began, ...extra }),
  );
  if (e instanceof VerificationError) {
    await eachHost(r.started, (h) => r.record(h, 'marked_bad', { by: 'slipway (verification failed)', reason })).catch(
      (err: Error) => events.warn(`could not mark ${release.id} bad: ${err.message}`),
    );
    events.warn(`Release ${release.id} is marked bad: rollbacks skip it and it is never promoted`);
  }
  events.lifecycle('failed', { ...event, reason, duration_ms: Date.now() - began });
  if (restored.length)
    events.lifecycle('rolled_back', {
      ...event,
      release: r.held.states.get(restored[0]!)?.current,
      hosts: restored.map((h) => h.name),
      reason: `restored after: ${reason}`,
    });
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
