// What the dashboard shows and does, as the agent offers it (src/agent/board.ts): the page talks to this only.
import type { Role } from './auth.ts';
import type { DiffLine } from './diff.ts';

export interface ReleaseView {
  id: string;
  status: string;
  current: boolean;
  sha?: string;
  subject?: string;
  user?: string;
  time?: string;
  /** the stored manifest's name: `<id>.<digest>` */
  manifest?: string;
}

/** One app of one environment on this host, as last observed: nothing here is what slipway hopes, only what it saw. */
export interface AppView {
  app: string;
  environment: string;
  host: string;
  runtime: string;
  /** observed at (ISO time); absent: not looked at since the agent started */
  observedAt?: string;
  serving?: string;
  desired?: { release: string; by: string; at: string; command: string };
  sync: string;
  syncReasons: string[];
  health: string;
  healthReasons: string[];
  lock?: { user?: string; machine?: string; command?: string; time?: string; expires?: string };
  lastHeal?: { at: string; did: string[]; ok: boolean };
  degraded?: { why: string; fix: string };
  pull?: { offered?: string; next?: string; paused: boolean; bad: number };
  maintenance: boolean;
  proxied: boolean;
  releases: ReleaseView[];
  approvals: { release: string; requested_by: string; requested_at: string }[];
}

/** A run's events as its feed brought them (src/engine/live.ts). */
export interface RunView {
  app: string;
  token: string;
  command?: string;
  user?: string;
  started?: string;
  ended: boolean;
  /** waiting for the lock: its place in the queue (1: next) */
  queued?: number;
  events: Record<string, unknown>[];
}

/**
 * Another host's apps, as its own agent observed them, relayed by a `slipway dashboard` that holds SSH connections to
 * every host (hosts hold none to each other): the grid across hosts, while a tunnel is open.
 */
export interface PeerView {
  host: string;
  /** when the relay last asked that host (ISO time) */
  seenAt: string;
  apps?: AppView[];
  /** why the host's agent could not be asked */
  error?: string;
}

export type BoardEvent =
  | { type: 'apps'; apps: AppView[] }
  | { type: 'peers'; peers: PeerView[] }
  | { type: 'run'; run: RunView }
  | { type: 'history'; app: string };

export const ACTIONS = [
  'rollback',
  'approve',
  'reject',
  'mark-bad',
  'restart',
  'maintenance-on',
  'maintenance-off',
  'pause',
  'resume',
] as const;
export type ActionName = (typeof ACTIONS)[number];

export interface ActionRequest {
  app: string;
  environment: string;
  action: ActionName;
  release?: string;
  reason?: string;
}

export interface Sample {
  /** ms since the epoch */
  t: number;
  /** health check: took ms, answered ok */
  ms?: number;
  ok?: boolean;
  /** the app's CPU (% of one core, since the sample before) and memory (bytes) */
  cpu?: number;
  mem?: number;
}

export interface LogLine {
  id: number;
  line: string;
}

/** A release's config against the kept release before it (none where the agent did not see it deployed). */
export interface ReleaseConfig {
  id: string;
  previous?: string;
  diff?: DiffLine[];
}

export interface Board {
  host: string;
  version: string;
  apps(): AppView[];
  /** the other hosts' apps, as last relayed (src/cli/dashboard.ts) */
  peers(): PeerView[];
  history(app: string, environment: string): unknown[];
  runs(): RunView[];
  samples(app: string, environment: string): Sample[];
  releaseConfig(app: string, environment: string, id: string): ReleaseConfig;
  /** every change, as it happens; returns the unsubscribe */
  subscribe(fn: (e: BoardEvent) => void): () => void;
  /** the app's log: the lines kept after `after`, then each new one; returns the stop */
  followLogs(app: string, environment: string, after: number, fn: (l: LogLine) => void): (() => void) | undefined;
  /** do what the CLI's command does; resolves to what was done, rejects with why not */
  act(request: ActionRequest, by: { who: string; role: Role }): Promise<string>;
}
