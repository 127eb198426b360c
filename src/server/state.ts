// What a host holds for the app: the current release, the releases on disk,
// and the history, read in one round trip.
import { SlipwayError } from '../errors.ts';
import type { Host } from '../transport/host.ts';
import { parseHistory, type HistoryRecord } from './history.ts';
import { parseDesired, type Desired } from './desired.ts';
import { NOT_SET_UP, script, sh, type Layout } from './layout.ts';
import { notSetUp } from './lock.ts';
import READ_BODY from '../scripts/state-read.sh';
import { stateTextHere } from './state-here.ts';

export type ReleaseStatus = 'ok' | 'failed' | 'incomplete' | 'bad';

export interface ReleaseInfo {
  id: string;
  current: boolean;
  status: ReleaseStatus;
  sha?: string;
  subject?: string;
  user?: string;
  time?: string;
}

export interface HostState {
  current?: string;
  /** releases the blue/green slots point at (running or draining) */
  slots: string[];
  releases: ReleaseInfo[];
  history: HistoryRecord[];
  /** release id → its stored manifest's file name (`<id>.<digest>` in .slipway/manifests) */
  manifests: Record<string, string>;
  /** `uname -s`, `uname -m` and the C library: "Linux x86_64 glibc" */
  platform?: string;
  /** what the host should run, as the last deploy or rollback wrote it */
  desired?: Desired;
  /** programs a transfer may use there: zstd (binary deltas) */
  tools: string[];
}

/**
 * History lines read with the state: enough for every kept release's outcome, without the cost growing with every
 * deploy.
 */
export const HISTORY_LINES = 500;

// $1 app dir, $2 kept|all, $3 meta folder, $4 manifests folder, $5 history file, $6 desired state
const READ = script({ NOT_SET_UP, HISTORY_LINES }, READ_BODY);

/**
 * The argv that prints a host's state (for parseState); it never fails once the app is set up.
 * `keptOnly`: history records of the releases on the host only (deploys and rollbacks), not
 * every recent one (`slipway history`).
 */
export function stateArgv(l: Layout, keptOnly = false): string[] {
  return sh(READ, l.appDir, keptOnly ? 'kept' : 'all', l.meta, l.manifests, l.history, l.desired);
}

export async function readState(host: Host, l: Layout): Promise<HostState> {
  if (host.here) {
    const text = stateTextHere(l, HISTORY_LINES);
    if (text === undefined) throw notSetUp(host, l);
    return parseState(text);
  }
  const r = await host.run(stateArgv(l), { reject: false });
  if (r.exitCode === NOT_SET_UP) throw notSetUp(host, l);
  if (r.exitCode !== 0) throw new Error(`${host.name}: could not read ${l.appDir}: ${r.stderr.trim()}`);
  return parseState(r.stdout);
}

export function parseState(stdout: string): HostState {
  const [link = '', slots = '', list = '', manifests = '', platform = '', desired = '', tools = '', hist = ''] =
    stdout.split('---\n');
  const slotIds = slots
    .split('\n')
    .filter(Boolean)
    .map((t) => t.replace(/^.*\//, ''));
  const state = buildState(link.trim(), list.split('\n').filter(Boolean), parseHistory(hist), slotIds);
  for (const f of manifests.split('\n')) {
    const m = /^(.+)\.([0-9a-f]{32})$/.exec(f);
    if (m) state.manifests[m[1]!] = f;
  }
  state.platform = platform.trim() || undefined;
  state.desired = parseDesired(desired.trim());
  state.tools = tools.split('\n').filter(Boolean);
  return state;
}

/** Pure: combine the current link, the release folders and the history. */
export function buildState(link: string, ids: string[], history: HistoryRecord[], slots: string[] = []): HostState {
  // a `current` whose release was deleted by hand serves nothing: the host has no current release
  const linked = link ? link.replace(/^.*\//, '') : undefined;
  const current = linked && ids.includes(linked) ? linked : undefined;
  const releases = [...ids].sort().map((id): ReleaseInfo => {
    const events = history.filter((h) => h.release === id);
    const started = events.find((e) => e.event === 'started');
    const outcome = [...events].reverse().find((e) => e.event === 'succeeded' || e.event === 'failed');
    return {
      id,
      current: id === current,
      status: events.some((e) => e.event === 'marked_bad')
        ? 'bad'
        : outcome?.event === 'failed'
          ? 'failed'
          : outcome
            ? 'ok'
            : 'incomplete',
      sha: started?.sha,
      subject: started?.subject,
      user: started?.user,
      time: started?.time,
    };
  });
  return { current, slots, releases, history, manifests: {}, tools: [] };
}

/**
 * The state a successful deploy of `id` leaves (pure): what pruning at its end works from, without reading it again.
 */
export function afterDeploy(state: HostState, id: string, record: HistoryRecord): HostState {
  const ids = [...state.releases.map((r) => r.id), id];
  const history = [...state.history, record];
  const slots = [...new Set([...state.slots, id, ...(state.current ? [state.current] : [])])];
  return { ...buildState(`releases/${id}`, ids, history, slots), manifests: state.manifests, tools: state.tools };
}

/** A release kept on the host, by id or unique prefix; otherwise an error naming the host. */
export function findRelease(host: Host, state: HostState, id: string, env: string): ReleaseInfo {
  const match = state.releases.filter((r) => r.id === id || r.id.startsWith(id));
  if (match.length !== 1)
    throw new SlipwayError(
      'failure',
      `${host.name}: ${match.length ? `"${id}" matches several releases` : `no release "${id}"`}`,
      { hint: `see: slipway releases ${env}` },
    );
  return match[0]!;
}

/**
 * The release a plain rollback goes to: the newest kept release before the current one that did not fail and is not
 * marked bad.
 */
export function rollbackTarget(state: HostState): ReleaseInfo | undefined {
  const before = state.releases.filter((r) => !state.current || r.id < state.current);
  return before.reverse().find((r) => r.status === 'ok');
}

/**
 * Releases to delete. `keep` releases stay, chosen in this order: the current one, the releases a
 * rollback can go to (healthy, older than current, newest first), other healthy ones (newer than
 * current, after a rollback), then failed, bad and incomplete ones; a release a slot runs always stays.
 */
export function planPrune(state: HostState, keep: number): string[] {
  const newestFirst = [...state.releases].sort((a, b) => b.id.localeCompare(a.id));
  const current = state.current;
  const rank = (r: ReleaseInfo) => (r.id === current ? 0 : r.status !== 'ok' ? 3 : current && r.id > current ? 2 : 1);
  const ranked = [0, 1, 2, 3].flatMap((n) => newestFirst.filter((r) => rank(r) === n));
  const kept = new Set([...ranked.slice(0, keep).map((r) => r.id), ...state.slots]);
  return state.releases
    .map((r) => r.id)
    .filter((id) => !kept.has(id))
    .sort();
}
