// The dashboard's view of this host (src/web/board.ts), from what the agent observes: each app's last look, its
// runs in progress, its history, health samples and log; and its actions, each what the CLI's command does, run
// here by the engine as the agent runs deploys, recorded with who asked.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResolvedConfig } from '../config/load.ts';
import { maintenance, restart } from '../engine/control.ts';
import { Events } from '../engine/events.ts';
import { answerApproval, type Approval } from '../engine/guardrails.ts';
import type { Observed } from '../engine/observe.ts';
import { markBad } from '../engine/promote.ts';
import { rollback } from '../engine/rollback.ts';
import { withSession } from '../engine/session.ts';
import { inMaintenance, isProxied } from '../proxy/caddy.ts';
import { runtimeFor } from '../runtime/index.ts';
import { AGENT, layout } from '../server/layout.ts';
import { lockInfoFile } from '../server/lock.ts';
import { tail } from '../server/state-here.ts';
import { SelfHost } from '../transport/self.ts';
import type {
  ActionRequest,
  AppView,
  Board,
  BoardEvent,
  LogLine,
  PeerView,
  ReleaseConfig,
  RunView,
  Sample,
} from '../web/board.ts';
import { changedOnly, lineDiff } from '../web/diff.ts';
import { type Agent, type Registration, readDesired, runConfig } from './agent.ts';
import { LiveRuns } from './live.ts';
import { loadJsonFiles } from './memory.ts';
import { LogFollower } from './logs.ts';
import { appendSample, cpuPercent, readSamples, SAMPLE_EVERY_MS, usageOf } from './samples.ts';

/** the end of an app's history the dashboard reads, however long the file has grown */
const HISTORY_LINES = 2000;

/** a host not relayed for this long has left the grid (its tunnel closed) */
const PEER_KEPT_MS = 60_000;

const MAINTENANCE_MESSAGE = 'We are doing some maintenance and will be back shortly.';

export class AgentBoard implements Board {
  readonly host = os.hostname();
  private agent!: Agent;
  private readonly views = new Map<string, AppView>();
  private readonly listeners = new Set<(e: BoardEvent) => void>();
  private readonly followers = new Map<string, LogFollower>();
  private readonly lastSample = new Map<string, { t: number; cpuUs?: number }>();
  /** per app, the desired release and kept releases its configs were last kept for */
  private readonly keptFor = new Map<string, string>();
  private readonly live: LiveRuns;
  private readonly relayed = new Map<string, PeerView>();

  constructor(
    readonly version: string,
    private readonly log: (line: string) => void,
  ) {
    this.live = new LiveRuns(
      AGENT.live,
      (run) => {
        this.emit({ type: 'run', run });
        this.refreshApprovals(run.app);
      },
      (app) => this.lockToken(app),
    );
  }

  /** Start watching the runs' feeds once the agent exists; returns the stop. */
  start(agent: Agent): () => void {
    this.agent = agent;
    return this.live.start();
  }

  /** The agent's look at an app: its view, and a health sample once a minute. */
  observed(cfg: ResolvedConfig, o: Observed): void {
    const at = new Date().toISOString();
    void this.viewOf(cfg, o, at).then((view) => {
      const id = `${view.environment}/${view.app}`;
      const before = this.views.get(id);
      // a look that took longer than the one after it is older news
      if (before?.observedAt && before.observedAt > at) return;
      this.views.set(id, view);
      if (before?.observedAt !== view.observedAt) this.emit({ type: 'apps', apps: this.apps() });
      if (before && JSON.stringify(before.releases) !== JSON.stringify(view.releases))
        this.emit({ type: 'history', app: view.app });
    });
    this.sample(cfg, o);
    this.keepConfig(cfg.app, o);
  }

  apps(): AppView[] {
    const seen = new Map([...this.views.values()].map((v) => [v.app, v]));
    return this.registrations().map((reg) => seen.get(reg.app) ?? unobserved(reg, this.host));
  }

  peers(): PeerView[] {
    const since = new Date(Date.now() - PEER_KEPT_MS).toISOString();
    return [...this.relayed.values()].filter((p) => p.seenAt >= since && p.host !== this.host);
  }

  /** Other hosts' apps, as a `slipway dashboard` relays them; pages are told at once. */
  relay(peers: PeerView[]): void {
    const news = (p: PeerView) => JSON.stringify({ ...p, seenAt: 0 });
    const changed = peers.some((p) => !this.relayed.has(p.host) || news(this.relayed.get(p.host)!) !== news(p));
    for (const p of peers) this.relayed.set(p.host, p);
    if (changed) this.emit({ type: 'peers', peers: this.peers() });
  }

  history(app: string, environment: string): unknown[] {
    const reg = this.registration(app, environment);
    if (!reg) return [];
    return tail(layout(reg.appDir).history, HISTORY_LINES)
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as unknown];
        } catch {
          return [];
        }
      })
      .reverse();
  }

  runs(): RunView[] {
    return this.live.runs();
  }

  samples(app: string, environment: string): Sample[] {
    return this.registration(app, environment) ? readSamples(AGENT.samples(app), Date.now() - 7 * 86400_000) : [];
  }

  releaseConfig(app: string, environment: string, id: string): ReleaseConfig {
    const reg = this.registration(app, environment);
    const view = reg && [...this.views.values()].find((v) => v.app === app);
    const ids = (view?.releases ?? []).map((r) => r.id).sort();
    if (!ids.includes(id)) return { id }; // only a kept release's: an id never names a file by itself
    const previous = ids.filter((r) => r < id).at(-1);
    const mine = readConfig(app, id);
    const theirs = previous ? readConfig(app, previous) : undefined;
    if (!mine || !theirs) return { id, ...(previous ? { previous } : {}) };
    return { id, previous, diff: changedOnly(lineDiff(theirs, mine)) };
  }

  subscribe(fn: (e: BoardEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  followLogs(app: string, environment: string, after: number, fn: (l: LogLine) => void): (() => void) | undefined {
    const reg = this.registration(app, environment);
    const cfg = reg && this.configOf(reg);
    if (!reg || !cfg) return undefined;
    let follower = this.followers.get(app);
    if (!follower) {
      let started = false;
      follower = new LogFollower(() => {
        // the first follower shows the last lines; a later one only what is new (the page has kept the rest)
        const argv = runtimeFor(cfg).logsArgv(cfg, { lines: started ? 0 : 100, follow: true }).argv;
        started = true;
        return argv;
      }, this.log);
      this.followers.set(app, follower);
    }
    return follower.follow(after, fn);
  }

  async act(r: ActionRequest, by: { who: string }): Promise<string> {
    const reg = this.registration(r.app, r.environment);
    const cfg = reg && this.configOf(reg);
    if (!reg || !cfg) throw new Error(`no app ${r.app} (${r.environment}) is deployed on this host`);
    const who = `${by.who} (dashboard)`;
    const command = `slipway ${r.action} ${r.environment}${r.release ? ` ${r.release}` : ''} (dashboard: ${by.who})`;
    const events = new Events();
    const done = await this.run(r, cfg, events, who, command);
    this.agent.schedule(r.app, 0);
    return done;
  }

  private async run(r: ActionRequest, cfg: ResolvedConfig, events: Events, who: string, command: string) {
    const needRelease = () => {
      if (!r.release) throw new Error(`${r.action} needs a release`);
      return r.release;
    };
    switch (r.action) {
      case 'rollback': {
        const out = await rollback(cfg, events, { id: needRelease(), command, by: who });
        return `rolled back to ${out.release}`;
      }
      case 'approve':
      case 'reject': {
        const state = r.action === 'approve' ? 'approved' : 'rejected';
        await withSession(cfg, events, (s) =>
          answerApproval(s.hosts[0]!, s.layout, needRelease(), state, r.reason, who),
        );
        return `${needRelease()} ${state}`;
      }
      case 'mark-bad': {
        const out = await markBad(cfg, events, needRelease(), { reason: r.reason, command, by: who });
        return `${out.release} marked bad${out.current ? ' (it is live: roll back to stop serving it)' : ''}`;
      }
      case 'restart':
        await withSession(cfg, events, (s) => restart(s, command), { connectStep: false });
        return 'restarted';
      case 'maintenance-on':
      case 'maintenance-off': {
        const on = r.action === 'maintenance-on';
        await withSession(cfg, events, (s) => maintenance(s, on, MAINTENANCE_MESSAGE, command), { connectStep: false });
        return on ? 'maintenance page on' : 'maintenance page off';
      }
      case 'pause':
      case 'resume':
        if (!cfg.pull) throw new Error(`${r.app} (${r.environment}) does not pull`);
        this.agent.pausePull(r.app, r.action === 'pause');
        return r.action === 'pause' ? 'pull mode paused' : 'pull mode resumed';
    }
  }

  /** A run asks for approval, or is answered, in a folder no watch sees: its feed is what tells. */
  private refreshApprovals(app: string): void {
    const reg = this.registrations().find((r) => r.app === app);
    const view = [...this.views.values()].find((v) => v.app === app);
    if (!reg || !view) return;
    const approvals = pendingApprovals(reg.appDir);
    if (JSON.stringify(approvals) === JSON.stringify(view.approvals)) return;
    view.approvals = approvals;
    this.emit({ type: 'apps', apps: this.apps() });
  }

  private emit(e: BoardEvent): void {
    for (const l of this.listeners) l(e);
  }

  private registrations(): Registration[] {
    return this.agent?.registrations() ?? [];
  }

  private registration(app: string, environment: string): Registration | undefined {
    return this.registrations().find((r) => r.app === app && this.configOf(r)?.environment === environment);
  }

  private configOf(reg: Registration): ResolvedConfig | undefined {
    const d = readDesired(reg.appDir);
    return d && runConfig(reg, d);
  }

  private lockToken(app: string): string | undefined {
    const reg = this.registrations().find((r) => r.app === app);
    if (!reg) return undefined;
    try {
      return (JSON.parse(readFileSync(lockInfoFile(layout(reg.appDir)), 'utf8')) as { token?: string }).token;
    } catch {
      return undefined;
    }
  }

  /** The app's view from one look; `cfg` is the agent's run config: this host its one target, the app's folder. */
  private async viewOf(cfg: ResolvedConfig, o: Observed, at: string): Promise<AppView> {
    const m = this.agent.memory[cfg.app];
    const host = cfg.targets[0]!.name;
    const here = new SelfHost({ name: host, kind: 'self', role: 'web' }, () => {});
    const inMaint = isProxied(cfg) ? await inMaintenance(here, cfg).catch(() => false) : false;
    return {
      app: cfg.app,
      environment: cfg.environment,
      host,
      runtime: cfg.runtime,
      observedAt: at,
      ...(o.serving ? { serving: o.serving } : {}),
      ...(o.state.desired ? { desired: pickDesired(o.state.desired) } : {}),
      sync: o.sync,
      syncReasons: o.reasons,
      health: o.health,
      healthReasons: o.healthReasons,
      ...(o.lock ? { lock: o.lock } : {}),
      ...(m?.lastHeal ? { lastHeal: m.lastHeal } : {}),
      ...(m?.degraded ? { degraded: m.degraded } : {}),
      ...(cfg.pull
        ? {
            pull: {
              offered: m?.pull?.offered,
              next: m?.pull?.next,
              paused: !!m?.pull?.paused,
              bad: m?.pull?.bad.length ?? 0,
            },
          }
        : {}),
      maintenance: inMaint,
      proxied: isProxied(cfg),
      releases: o.state.releases.map((r) => ({
        ...r,
        ...(o.state.manifests[r.id] ? { manifest: o.state.manifests[r.id] } : {}),
      })),
      approvals: pendingApprovals(cfg.appDir),
    };
  }

  /** The config the desired release runs with, kept once per release; those of releases no longer kept are removed. */
  private keepConfig(app: string, o: Observed): void {
    const d = o.state.desired;
    if (!d?.config) return;
    const key = [d.release, ...o.state.releases.map((r) => r.id)].join(' ');
    if (this.keptFor.get(app) === key) return; // each look would find the same
    const file = AGENT.releaseConfig(app, d.release);
    try {
      if (!existsSync(file)) {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, `${JSON.stringify({ spec: d.spec, config: d.config }, null, 2)}\n`, { mode: 0o600 });
      }
      const kept = new Set(o.state.releases.map((r) => `${r.id}.json`));
      for (const n of readdirSync(path.dirname(file))) if (!kept.has(n)) rmSync(path.join(path.dirname(file), n));
      this.keptFor.set(app, key);
    } catch {
      /* a full disk: the diff is not shown, nothing else depends on it */
    }
  }

  private sample(cfg: ResolvedConfig, o: Observed): void {
    const now = Date.now();
    const last = this.lastSample.get(cfg.app);
    if (last && now - last.t < SAMPLE_EVERY_MS - 5000) return;
    const pid = (o.live ? o.instances.find((i) => i.slot === o.live) : o.instances[0])?.pid;
    const use = pid ? usageOf(pid) : undefined;
    const s: Sample = { t: now };
    if (o.check) Object.assign(s, { ok: o.check.ok, ...(o.check.ms !== undefined ? { ms: o.check.ms } : {}) });
    if (use) {
      s.mem = use.mem;
      if (last?.cpuUs !== undefined) s.cpu = cpuPercent({ cpuUs: last.cpuUs, t: last.t }, { cpuUs: use.cpuUs, t: now });
    }
    this.lastSample.set(cfg.app, { t: now, ...(use ? { cpuUs: use.cpuUs } : {}) });
    try {
      appendSample(AGENT.samples(cfg.app), s);
    } catch (e) {
      this.log(`${cfg.app}: could not keep a health sample: ${(e as Error).message}`);
    }
  }
}

function pickDesired(d: { release: string; by: string; at: string; command: string }) {
  return { release: d.release, by: d.by, at: d.at, command: d.command };
}

function unobserved(reg: Registration, host: string): AppView {
  return {
    app: reg.app,
    environment: '',
    host: reg.host || host,
    runtime: '',
    sync: 'Unknown',
    syncReasons: ['not deployed yet, or not looked at since the agent started'],
    health: 'Unknown',
    healthReasons: [],
    maintenance: false,
    proxied: false,
    releases: [],
    approvals: [],
  };
}

/** The deploys waiting for approval on this host (their requests, as `slipway approve` answers them). */
function pendingApprovals(appDir: string): AppView['approvals'] {
  return loadJsonFiles<Approval>(layout(appDir).approvals)
    .filter((a) => a.state === 'pending')
    .map((a) => ({ release: a.release, requested_by: a.requested_by, requested_at: a.requested_at }));
}

function readConfig(app: string, release: string): string[] | undefined {
  try {
    return readFileSync(AGENT.releaseConfig(app, release), 'utf8').trimEnd().split('\n');
  } catch {
    return undefined;
  }
}

const isString = (v: unknown, max = 1000) => typeof v === 'string' && v.length <= max;
const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => isString(x));

/** An app view as the page draws it: the fields it reads have their kinds (pure). */
function appViewOk(v: unknown): v is AppView {
  const a = v as Record<string, unknown>;
  return (
    typeof a === 'object' &&
    a !== null &&
    ['app', 'environment', 'host', 'runtime', 'sync', 'health'].every((k) => isString(a[k], 200)) &&
    isStrings(a.syncReasons) &&
    isStrings(a.healthReasons) &&
    Array.isArray(a.releases) &&
    Array.isArray(a.approvals)
  );
}

/** What a `slipway dashboard` relays (pure): the hosts' views, each checked; a string says why it is refused. */
export function parsePeers(body: string): PeerView[] | string {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  if (!Array.isArray(v) || v.length > 100) return 'a list of at most 100 hosts';
  const peers: PeerView[] = [];
  for (const p of v as Record<string, unknown>[]) {
    if (!isString(p?.host, 255) || !isString(p.seenAt, 40) || Number.isNaN(Date.parse(p.seenAt as string)))
      return 'each host has a host name and a seenAt time';
    if (p.apps !== undefined && !(Array.isArray(p.apps) && p.apps.every(appViewOk)))
      return `${p.host}: apps as the agent's board gives them`;
    if (p.error !== undefined && !isString(p.error, 500)) return `${p.host}: error is a short text`;
    const { host, seenAt, apps, error } = p as unknown as PeerView;
    peers.push({ host, seenAt, ...(apps ? { apps } : {}), ...(error !== undefined ? { error } : {}) });
  }
  return peers;
}
