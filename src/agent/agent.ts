// The slipway agent: one process per host, for every app on it. For each app it observes the host with the engine's
// own `observe`, asks `reconcile` what to do and heals under the deploy lock the CLI takes (a lease, so a dead agent's
// lock runs out). What it did is a history record and a webhook; what it remembers (heals, backoff, reports) is a
// file, so a restart or kill -9 loses nothing. It never acts on an app while a deploy holds its lock.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { Events } from '../engine/events.ts';
import { webhooks } from '../engine/notify.ts';
import { type Observed, observe } from '../engine/observe.ts';
import { type Action, reconcile } from '../engine/reconcile.ts';
import { withSession, type Session } from '../engine/session.ts';
import { isProxied } from '../proxy/caddy.ts';
import { type Desired, parseDesired } from '../server/desired.ts';
import { appendHistory, historyRecord } from '../server/history.ts';
import { layout } from '../server/layout.ts';
import { AGENT_USER, acquireLock, type LockInfo, newLockInfo, releaseLock } from '../server/lock.ts';
import type { Host } from '../transport/host.ts';
import { foundOf, hasEnvFile, releaseFiles } from './found.ts';
import { type HealOutcome, heal } from './heal.ts';
import { pullOnce } from './pull.ts';
import {
  type AppMemory,
  afterHealing,
  fresh,
  loadJsonFiles,
  loadMemory,
  type Memory,
  saveMemory,
  settled,
} from './memory.ts';

/** What setup registers for each app on the host (a root-only file). */
export interface Registration {
  app: string;
  /** the host's name as slipway.yml writes it: the name in its history records */
  host: string;
  appDir: string;
  webhooks: ResolvedConfig['webhooks'];
}

export interface AgentOptions {
  appsDir: string;
  stateFile: string;
  log: (line: string) => void;
  /** each look at an app, as it was seen (the dashboard's state) */
  observed?: (cfg: ResolvedConfig, o: Observed) => void;
}

/** The config an app runs with on this host: the deployed one, this machine as its one target. */
export function runConfig(reg: Registration, d: Desired): ResolvedConfig | undefined {
  if (!d.config) return undefined;
  return {
    ...d.config,
    roles: {},
    webhooks: reg.webhooks,
    targets: [{ name: reg.host, kind: 'self', role: 'web' }],
    dir: reg.appDir,
    file: 'slipway.yml',
  };
}

export function readRegistrations(dir: string): Registration[] {
  return loadJsonFiles<Registration>(dir);
}

export function readDesired(appDir: string): Desired | undefined {
  try {
    return parseDesired(readFileSync(layout(appDir).desired, 'utf8'));
  } catch {
    return undefined;
  }
}

export class Agent {
  readonly memory: Memory;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly pulling = new Map<string, Promise<void>>();
  private readonly pullAgain = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly opts: AgentOptions) {
    this.memory = loadMemory(opts.stateFile);
  }

  registrations(): Registration[] {
    return readRegistrations(this.opts.appsDir);
  }

  /** Look at `app` after `delayMs` (a burst of changes is one look). */
  schedule(app: string, delayMs = 300): void {
    if (this.timers.has(app)) return;
    this.timers.set(
      app,
      setTimeout(() => {
        this.timers.delete(app);
        void this.check(app);
      }, delayMs),
    );
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.registrations().map((r) => this.check(r.app)));
  }

  /** Pause or resume the app's pull mode (the dashboard's action): remembered across restarts. */
  pausePull(app: string, paused: boolean): void {
    const m = (this.mem(app).pull ??= { bad: [] });
    m.paused = paused;
    m.next = paused ? 'paused from the dashboard' : 'resumed';
    this.save();
    if (!paused) void this.pull(app);
  }

  /** Clear a stopped (flapping) app's count: it is healed again. */
  resume(app: string): void {
    const { lastHeal, pull } = this.memory[app] ?? {};
    this.memory[app] = { ...fresh(), ...(lastHeal ? { lastHeal } : {}), ...(pull ? { pull } : {}) };
    this.save();
    this.schedule(app, 0);
  }

  /** One look at an app at a time; a look asked for meanwhile runs after it. */
  check(app: string): Promise<void> {
    const under = this.running.get(app);
    if (under) {
      this.again.add(app);
      return under;
    }
    const run = this.checkOnce(app)
      .catch((e: Error) => this.opts.log(`${app}: ${e.message}`))
      .finally(() => {
        this.running.delete(app);
        if (this.again.delete(app)) this.schedule(app, 0);
      });
    this.running.set(app, run);
    return run;
  }

  /**
   * One look at the app's pull source at a time; one asked for meanwhile (a webhook for a version published while
   * the look under way read the source) comes right after it.
   */
  pull(app: string): Promise<void> {
    const under = this.pulling.get(app);
    if (under) {
      this.pullAgain.add(app);
      return under;
    }
    const reg = this.registrations().find((r) => r.app === app);
    const desired = reg && readDesired(reg.appDir);
    const cfg = reg && desired && runConfig(reg, desired);
    if (!cfg?.pull) return Promise.resolve();
    const memory = (this.mem(app).pull ??= { bad: [] });
    if (memory.paused) return Promise.resolve();
    const run = pullOnce({ ...cfg, pull: cfg.pull }, { memory, save: () => this.save(), log: this.opts.log })
      .catch((e: Error) => this.opts.log(`${app}: pull: ${e.message}`))
      .finally(() => {
        this.pulling.delete(app);
        this.schedule(app, 1000);
        if (this.pullAgain.delete(app)) void this.pull(app);
      });
    this.pulling.set(app, run);
    return run;
  }

  private mem(app: string): AppMemory {
    return (this.memory[app] ??= fresh());
  }

  private save(): void {
    saveMemory(this.opts.stateFile, this.memory);
  }

  private async checkOnce(app: string): Promise<void> {
    const reg = this.registrations().find((r) => r.app === app);
    const desired = reg && readDesired(reg.appDir);
    const cfg = reg && desired && runConfig(reg, desired);
    if (!reg || !desired || !cfg) return; // nothing deployed yet (or by an older slipway): nothing to converge to
    const events = new Events();
    events.subscribe((e) => {
      if (e.type === 'message' && e.level === 'warn') this.opts.log(`${app}: ${e.text}`);
    });
    const hooks = webhooks(cfg, events);
    try {
      await withSession(cfg, events, (s) => this.converge(s, s.hosts[0]!, desired), { connectStep: false });
    } finally {
      this.mem(app).lastCheck = new Date().toISOString();
      this.save();
      await hooks.flush();
    }
  }

  /** What is there against what should be; heal when there is something to heal and the backoff allows it. */
  private async converge(s: Session, h: Host, desired: Desired): Promise<void> {
    const app = s.cfg.app;
    const { actions } = await this.look(s, h);
    const m = this.mem(app);
    if (!actions.length) {
      if (m.degraded || m.attempts) this.opts.log(`${app}: as it should be (${desired.release})`);
      this.memory[app] = settled(m);
      return;
    }
    if (actions.every((a) => a.do === 'wait')) return;
    const report = reportOf(actions, s.cfg.environment);
    if (report) return this.degrade(s, report, report.halt ? desired.generation : undefined);
    if (m.halted === desired.generation) return;
    const wait = m.nextAt - Date.now();
    if (wait > 0) return this.schedule(app, wait);
    await this.healLocked(s, h);
  }

  private async look(s: Session, h: Host, ownLock?: string) {
    const { cfg, layout: l, runtime } = s;
    const m = this.mem(cfg.app);
    const unseen: string[] = [];
    const o = await observe(s, h, (e) => unseen.push(e.message));
    this.opts.observed?.(cfg, o);
    const desired = o.state.desired;
    const found = foundOf(o, {
      release: desired ? releaseFiles(l, o.state, desired.release) : 'intact',
      envFile: hasEnvFile(l),
      proxied: isProxied(cfg),
      hasProcess: runtime.hasProcess,
      ...(ownLock ? { ownLock } : {}),
      heals: m.heals,
      now: Date.now(),
      afterHeal: !!m.afterHeal,
    });
    // what could not be asked (Caddy's admin API down) is not healed blind: said, and looked at again later
    const actions: Action[] = unseen.length
      ? [{ do: 'report', why: `could not look: ${unseen.join('; ')}`, fix: 'see: slipway status' }]
      : reconcile(found);
    return { o, found, actions };
  }

  /** Take the app's deploy lock (never waiting for it: a deploy under way wins), look again, heal, record. */
  private async healLocked(s: Session, h: Host): Promise<void> {
    const { cfg, layout: l } = s;
    const info: LockInfo = {
      ...newLockInfo('slipway agent: heal'),
      user: AGENT_USER,
      expires: new Date(Date.now() + leaseMs(cfg)).toISOString(),
    };
    try {
      await acquireLock(h, l, info, { waitSeconds: 0 });
    } catch (e) {
      if (e instanceof SlipwayError && e.kind === 'locked') return; // a deploy got there first
      throw e;
    }
    try {
      await this.healHeld(s, h, info.token);
    } finally {
      await releaseLock(h, l, info.token);
      this.schedule(cfg.app, 1000); // the heal's outcome, seen as anything else is
    }
  }

  private async healHeld(s: Session, h: Host, token: string): Promise<void> {
    const { cfg, layout: l } = s;
    const began = Date.now();
    const { o, found, actions } = await this.look(s, h, token);
    if (!actions.length || actions.some((a) => a.do === 'wait' || a.do === 'report' || a.do === 'fetch-release'))
      return;
    const seen = actions.map((a) => a.why);
    this.opts.log(`${cfg.app}: found ${seen.join('; ')}`);
    // a heal that fails half way counts as one (the backoff grows) and is recorded as it went
    const outcome = await heal(s, h, actions, found, o.state).catch(
      (e: Error): HealOutcome => ({ did: [`failed: ${e.message}`], ok: false }),
    );
    const ms = Date.now() - began;
    const m = afterHealing(this.mem(cfg.app), Date.now());
    this.memory[cfg.app] = {
      ...m,
      lastHeal: { at: new Date().toISOString(), found: seen, did: outcome.did, ms, ok: outcome.ok },
    };
    this.save();
    this.opts.log(`${cfg.app}: ${outcome.did.join('; ')} (${ms} ms)`);
    const record = historyRecord(cfg, h.name, 'healed', {
      release: found.desired!.release,
      ...(found.current ? { previous: found.current } : {}),
      user: AGENT_USER,
      machine: os.hostname(),
      command: 'slipway agent',
      duration_ms: ms,
      found: seen,
      did: outcome.did,
    });
    await appendHistory(h, l, record);
    s.events.lifecycle('healed', {
      release: found.desired!.release,
      hosts: [h.name],
      duration_ms: ms,
      found: seen,
      did: outcome.did,
    });
    if (outcome.report) await this.degrade(s, outcome.report);
  }

  /** Say, once per reason, what the agent cannot heal and what does. */
  private async degrade(s: Session, report: { why: string; fix: string }, haltAt?: number): Promise<void> {
    const app = s.cfg.app;
    const m = this.mem(app);
    if (haltAt !== undefined) m.halted = haltAt;
    if (m.degraded?.why === report.why) return;
    m.degraded = { why: report.why, fix: report.fix, since: new Date().toISOString() };
    this.opts.log(`${app}: degraded: ${report.why} → ${report.fix}`);
    s.events.lifecycle('degraded', { hosts: [s.hosts[0]!.name], reason: report.why, fix: report.fix });
  }
}

/**
 * What the agent cannot do from the host alone: a report. A release whose files were changed or deleted is copied
 * back from a peer by `slipway sync`, over the SSH the agent has no key for (the changed copy is kept for a look).
 */
function reportOf(actions: Action[], env: string): { why: string; fix: string; halt?: boolean } | undefined {
  const report = actions.find((a) => a.do === 'report');
  if (report) return report;
  const fetch = actions.find((a) => a.do === 'fetch-release');
  return fetch && { why: fetch.why, fix: `slipway sync ${env} (copies ${fetch.release} back from a peer host)` };
}

/** How long the agent's lock holds: past it, a dead agent's lock is stale wherever it is seen. */
function leaseMs(cfg: ResolvedConfig): number {
  return 60_000 + 2 * (cfg.health.timeout + cfg.stop_timeout) * 1000;
}
