// Rollback: make a kept release live again. No build, no transfer: the same
// switch + restart + health check as a deploy. A plain rollback skips releases
// recorded as failed; naming a release picks it explicitly.
import { SlipwayError } from '../errors.ts';
import type { Events } from './events.ts';
import { desiredArgv, nextDesired } from '../server/desired.ts';
import { historyAppend, historyRecord } from '../server/history.ts';
import { andThen } from '../server/layout.ts';
import { findRelease, rollbackTarget, type HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { activate, healthError, recentLogs, restore } from './activate.ts';
import { webhooks } from './notify.ts';
import { eachHost, type Held, type Session, withLock, withSession } from './session.ts';
import type { ResolvedConfig } from '../config/load.ts';

export interface RollbackResult {
  release: string;
  previous: Record<string, string | undefined>;
  duration_ms: number;
}

export interface RollbackOptions {
  id?: string;
  lockWait?: number;
  command: string;
  /** who asked, when not this process's user (the dashboard's login) */
  by?: string;
}

export async function rollback(cfg: ResolvedConfig, events: Events, opts: RollbackOptions): Promise<RollbackResult> {
  const began = Date.now();
  const hooks = webhooks(cfg, events);
  try {
    return await rollbackIn(cfg, events, opts, began);
  } finally {
    await hooks.flush();
  }
}

function rollbackIn(
  cfg: ResolvedConfig,
  events: Events,
  opts: RollbackOptions,
  began: number,
): Promise<RollbackResult> {
  return withSession(cfg, events, (s) =>
    withLock(
      s,
      opts.command,
      opts.lockWait,
      async (held) => {
        const r: RollbackRun = { s, held, command: opts.command, began, target: '', switched: [] };
        try {
          r.target = chooseTarget(s.hosts, held.states, opts.id, cfg.environment);
          for (const p of ROLLBACK_PHASES) await events.phase(p.name, () => p.run(r));
          return rolledBack(r);
        } catch (e) {
          await switchBack(r);
          throw e;
        }
      },
      opts.by ? { user: opts.by } : undefined,
    ),
  );
}

/** What a rollback's phases share. */
interface RollbackRun {
  s: Session;
  held: Held;
  command: string;
  began: number;
  target: string;
  /** hosts switched to the target: switched back if the rollback fails */
  switched: Host[];
}

/** The rollback flow: go live with the target on every host, then record it, say what should run, unlock. */
const ROLLBACK_PHASES: { name: string; run(r: RollbackRun): Promise<void> }[] = [
  { name: 'activate', run: activateTarget },
  { name: 'record', run: recordRollback },
];

async function activateTarget(r: RollbackRun): Promise<void> {
  const { s, target } = r;
  await s.events.step(`Switch to ${target}, restart, health check`, () =>
    eachHost(
      s.hosts,
      async (h) => {
        const a = await activate(s, h, target, () => r.switched.push(h));
        if (!a.ok) throw healthError(h, target, a, await recentLogs(s, h), 'switching back');
      },
      s.cfg.rollout.concurrency,
    ),
  );
}

async function recordRollback(r: RollbackRun): Promise<void> {
  const { s, held, target } = r;
  const { cfg, layout: l } = s;
  await eachHost(s.hosts, async (h) => {
    const state = held.states.get(h)!;
    const record = historyRecord(cfg, h.name, 'rolled_back', {
      release: target,
      previous: state.current,
      user: held.info.user,
      machine: held.info.machine,
      command: r.command,
      duration_ms: Date.now() - r.began,
    });
    const { argv, input } = historyAppend(l, record);
    const manifest = state.manifests[target] ?? target;
    const desired = nextDesired(s.on(h).cfg, state, { id: target, manifest }, { ...held.info, command: r.command });
    await held.finish(h, andThen(argv, desiredArgv(l, desired)), input);
    s.events.recorded(h.name, record);
  });
}

function rolledBack(r: RollbackRun): RollbackResult {
  const { s, held, target, began } = r;
  const hosts = s.hosts;
  s.events.lifecycle('rolled_back', {
    release: target,
    previous: held.states.get(hosts[0]!)?.current,
    hosts: hosts.map((h) => h.name),
    duration_ms: Date.now() - began,
  });
  s.events.info(
    `Release ${target} is live again on ${hosts.map((h) => h.name).join(', ')} ` +
      `(${((Date.now() - began) / 1000).toFixed(2)}s)`,
  );
  return {
    release: target,
    previous: Object.fromEntries(hosts.map((h) => [h.name, held.states.get(h)?.current])),
    duration_ms: Date.now() - began,
  };
}

async function switchBack(r: RollbackRun): Promise<void> {
  for (const h of r.switched) {
    await r.s.events
      .step(`${h.name}: switch back`, () => restore(r.s, h, r.held.states.get(h)?.current))
      .catch((err: Error) => r.s.events.warn(`${h.name}: ${err.message}`));
  }
}

function chooseTarget(hosts: Host[], states: Map<Host, HostState>, id: string | undefined, env: string): string {
  const first = states.get(hosts[0]!)!;
  let target: string;
  if (id) {
    const named = findRelease(hosts[0]!, first, id, env);
    if (named.status === 'bad')
      throw new SlipwayError('guardrail', `${hosts[0]!.name}: release ${named.id} is marked bad; rollback refuses it`, {
        hint: `pick another release: slipway releases ${env}`,
      });
    target = named.id;
  } else {
    const t = rollbackTarget(first);
    if (!t)
      throw new SlipwayError(
        'failure',
        `${hosts[0]!.name}: no earlier healthy release (not failed, not marked bad) to roll back to`,
        { hint: `see: slipway releases ${env}` },
      );
    target = t.id;
  }
  for (const h of hosts) {
    const st = states.get(h)!;
    if (!st.releases.some((r) => r.id === target))
      throw new SlipwayError('failure', `${h.name}: release ${target} is not on this host`);
    if (st.current === target) throw new SlipwayError('failure', `${h.name}: ${target} is already the current release`);
  }
  return target;
}
