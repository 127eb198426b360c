// The append-only history on each host: one JSON record per line.
// A record is written with one append; if a crash cut the previous record
// short, the writer first ends that line so the damage stays on it, and the
// reader skips any line that is not a whole record.
import type { Host } from '../transport/host.ts';
import { sh, type Layout } from './layout.ts';
import APPEND from '../scripts/history-append.sh';

/**
 * started → succeeded | failed: a deploy; halted: a guardrail stopped a deploy before it changed
 * anything; approval_requested → approved | rejected; marked_bad: never promoted, redeployed or
 * rolled back to by automation; rolled_back: a rollback made `release` current again; healed: the agent found the host
 * away from `release` and put it back (`found`, `did`).
 */
export type HistoryEvent =
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'halted'
  | 'rolled_back'
  | 'approval_requested'
  | 'approved'
  | 'rejected'
  | 'marked_bad'
  | 'healed';

export interface HistoryRecord {
  time: string;
  event: HistoryEvent;
  app: string;
  environment: string;
  host: string;
  release: string;
  /** the release that was current before this event */
  previous?: string;
  sha?: string;
  subject?: string;
  user: string;
  machine: string;
  command?: string;
  duration_ms?: number;
  reason?: string;
  /** approved, rejected or marked_bad: who did it (user@machine) */
  by?: string;
  /** guardrails overridden with --force */
  forced?: string[];
  /** a promotion: the environment the release came from */
  promoted_from?: string;
  /** guardrails passed on the way (checks, approval, wait_for, verification) */
  guardrails?: string[];
  /** healed: what the agent found, and what it did */
  found?: string[];
  did?: string[];
}

// All or nothing: an append that fails (a full disk) is cut back to the size before it, so no
// record is ever left half written; a line cut by a crash is ended before the next record.

/** A record of `event` on `host`, stamped now; `fields` gives the release, who and the rest. */
export function historyRecord(
  cfg: { app: string; environment: string },
  host: string,
  event: HistoryEvent,
  fields: Omit<HistoryRecord, 'time' | 'event' | 'app' | 'environment' | 'host'>,
): HistoryRecord {
  return { time: new Date().toISOString(), event, app: cfg.app, environment: cfg.environment, host, ...fields };
}

/** argv and stdin that append a record. */
export function historyAppend(l: Layout, record: HistoryRecord): { argv: string[]; input: string } {
  return { argv: sh(APPEND, l.history), input: `${JSON.stringify(record)}\n` };
}

export async function appendHistory(host: Host, l: Layout, record: HistoryRecord): Promise<void> {
  const { argv, input } = historyAppend(l, record);
  await host.run(argv, { input });
}

export function parseHistory(text: string): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as HistoryRecord;
      if (r && typeof r.event === 'string' && typeof r.release === 'string') out.push(r);
    } catch {
      /* a record cut short by a crash */
    }
  }
  return out;
}
