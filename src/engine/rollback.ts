// Rollback: make a kept release live again. No build, no transfer: the same
// switch + restart + health check as a deploy. A plain rollback skips releases
// recorded as failed; naming a release picks it explicitly.
import { SlipwayError } from '../errors.ts';
import type { Events } from './events.ts';
import { desiredArgv, nextDesired } from '../server/desired.ts';
import { historyAppend, type HistoryRecord } from '../server/history.ts';
import { andThen } from '../server/layout.ts';
import { findRelease, rollbackTarget, type HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { activate, healthError, recentLogs, restore } from './activate.ts';
import { webhooks } from './notify.ts';
import { eachHost, withLock, withSession } from './session.ts';
import type { ResolvedConfig } from '../config/load.ts';

export interface RollbackResult {
  release: string;
  previous: Record<string, string | undefined>;
  duration_ms: number;
}

export async function rollback(
  cfg: ResolvedConfig,
  events: Events,
  opts: { id?: string; lockWait?: number; command: string },
): Promise<RollbackResult> {
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
  opts: { id?: string; lockWait?: number; command: string },
  began: number,
): Promise<RollbackResult> {
  return withSession(cfg, events, async (s) => {
    const { hosts, layout: l } = s;
    const switched: Host[] = [];
    return withLock(s, opts.command, opts.lockWait, async ({ info: lock, states, finish }) => {
      try {
        const target = chooseTarget(hosts, states, opts.id, cfg.environment);
        await events.step(`Switch to ${target}, restart, health check`, () =>
          eachHost(
            hosts,
            async (h) => {
              const r = await activate(s, h, target, () => switched.push(h));
              if (!r.ok) throw healthError(h, target, r, await recentLogs(s, h), 'switching back');
            },
            cfg.rollout.concurrency,
          ),
        );
        await eachHost(hosts, async (h) => {
          const rolledBack: HistoryRecord = {
            time: new Date().toISOString(),
            event: 'rolled_back',
            app: cfg.app,
            environment: cfg.environment,
            host: h.name,
            release: target,
            previous: states.get(h)!.current,
            user: lock.user,
            machine: lock.machine,
            command: opts.command,
            duration_ms: Date.now() - began,
          };
          const { argv, input } = historyAppend(l, rolledBack);
          const state = states.get(h)!;
          const manifest = state.manifests[target] ?? target;
          const desired = nextDesired(s.on(h).cfg, state, { id: target, manifest }, { ...lock, command: opts.command });
          await finish(h, andThen(argv, desiredArgv(l, desired)), input);
          events.recorded(h.name, rolledBack);
        });
        events.lifecycle('rolled_back', {
          release: target,
          previous: states.get(hosts[0]!)?.current,
          hosts: hosts.map((h) => h.name),
          duration_ms: Date.now() - began,
        });
        events.info(
          `Release ${target} is live again on ${hosts.map((h) => h.name).join(', ')} ` +
            `(${((Date.now() - began) / 1000).toFixed(2)}s)`,
        );
        return {
          release: target,
          previous: Object.fromEntries(hosts.map((h) => [h.name, states.get(h)?.current])),
          duration_ms: Date.now() - began,
        };
      } catch (e) {
        for (const h of switched) {
          await events
            .step(`${h.name}: switch back`, () => restore(s, h, states.get(h)?.current))
            .catch((err: Error) => events.warn(`${h.name}: ${err.message}`));
        }
        throw e;
      }
    });
  });
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
