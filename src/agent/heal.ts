// Doing what reconcile decided, on this host, with the engine's own steps: the runtime's configure, Caddy's site,
// and the activation every deploy and rollback goes live with (switch, restart, health check). A heal that does
// not make the desired release healthy restores the previous healthy one and marks the desired one bad.
import os from 'node:os';
import { activate } from '../engine/activate.ts';
import { type Action, whenUnhealthy, type Found } from '../engine/reconcile.ts';
import type { Session } from '../engine/session.ts';
import { ensureSite, isProxied } from '../proxy/caddy.ts';
import { desiredArgv, nextDesired } from '../server/desired.ts';
import { historyAppend, historyRecord } from '../server/history.ts';
import { andThen } from '../server/layout.ts';
import { AGENT_USER } from '../server/lock.ts';
import type { HostState } from '../server/state.ts';
import type { Host } from '../transport/host.ts';

export interface HealOutcome {
  did: string[];
  ok: boolean;
  /** what is left that the agent cannot heal */
  report?: { why: string; fix: string };
}

const ACTIVATES = new Set<Action['do']>(['point-current', 'restart', 'route']);

/** Carry out `actions` (none of them wait, report or fetch: those are not the host's to do). */
export async function heal(
  s: Session,
  h: Host,
  actions: Action[],
  found: Found,
  state: HostState,
): Promise<HealOutcome> {
  const { cfg, runtime } = s;
  const release = found.desired!.release;
  const did: string[] = [];
  if (actions.some((a) => a.do === 'rewrite-config') && (await runtime.configure(h, cfg)))
    did.push('rewrote the runtime config');
  if (actions.some((a) => a.do === 'rewrite-site') && isProxied(cfg)) {
    await ensureSite(h, cfg, runtime.filesServed?.(cfg));
    did.push("rewrote Caddy's site");
  }
  const restore = actions.find((a) => a.do === 'restore-previous');
  if (restore) return restorePrevious(s, h, restore.release, release, state, did);
  if (!actions.some((a) => ACTIVATES.has(a.do))) return { did, ok: true };
  const a = await activate(s, h, release);
  did.push(`started ${release} (switch, restart, health check)`);
  if (a.ok) return { did, ok: true };
  did.push(`${release} failed its health check: ${a.report}`);
  const next = whenUnhealthy(found, release);
  if (next.do === 'restore-previous') return restorePrevious(s, h, next.release, release, state, did);
  return { did, ok: false, ...(next.do === 'report' ? { report: { why: next.why, fix: next.fix } } : {}) };
}

/** The previous healthy release goes live again; the desired one is marked bad and the desired state follows. */
async function restorePrevious(
  s: Session,
  h: Host,
  previous: string,
  bad: string,
  state: HostState,
  did: string[],
): Promise<HealOutcome> {
  const { cfg, layout: l } = s;
  const a = await activate(s, h, previous);
  if (!a.ok) {
    did.push(`restored ${previous}, which fails its health check too: ${a.report}`);
    return {
      did,
      ok: false,
      report: {
        why: `neither ${bad} nor ${previous} passes its health check`,
        fix: 'fix the app, then slipway deploy',
      },
    };
  }
  const who = { user: AGENT_USER, machine: os.hostname(), command: 'slipway agent: restore the previous release' };
  const marked = historyAppend(
    l,
    historyRecord(cfg, h.name, 'marked_bad', {
      release: bad,
      previous,
      user: who.user,
      machine: who.machine,
      by: `${who.user}@${who.machine}`,
      command: who.command,
      reason: 'it did not become healthy after a heal; the previous healthy release was restored',
    }),
  );
  const manifest = state.manifests[previous] ?? previous;
  // the record, then what the host should run, in one command: as a rollback records itself
  const desired = desiredArgv(l, nextDesired(cfg, state, { id: previous, manifest }, who));
  await h.run(andThen(marked.argv, desired), { input: marked.input });
  did.push(`restored ${previous} and marked ${bad} bad`);
  return { did, ok: true };
}
