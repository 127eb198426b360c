// A flow is a list of phases. Each phase says whether it does anything on a host
// (`applies`), what it would do there (`describe`, for `slipway plan`) and does it
// (`run`); plan and deploy walk the same list, so they cannot drift apart.
import type { ResolvedConfig } from '../../config/load.ts';
import type { Manifest } from '../../release/content.ts';
import type { Runtime, ShipImage } from '../../runtime/runtime.ts';
import type { HistoryRecord } from '../../server/history.ts';
import type { HostState } from '../../server/state.ts';
import type { Host } from '../../transport/host.ts';
import type { BuiltDeps } from '../deps.ts';
import type { PreparedRelease } from '../prepare.ts';
import type { Held, Session } from '../session.ts';

/** One step of the plan: what it is (`step`), a sentence for people (`text`), and its figures for scripts. */
export interface PlanStep {
  step: string;
  text: string;
  [detail: string]: unknown;
}

/** What a phase asks of a host to know whether it does anything there. */
export interface HostView {
  /** the environment's config and the host's role's */
  env: ResolvedConfig;
  role: ResolvedConfig;
  runtime: Runtime;
  /** the host gets the dependencies built on this machine (install.once, same platform): nothing to install */
  receivesDeps: boolean;
}

/** What this machine has for the plan: the release as the tree is now. */
export interface PlanLocal {
  files: string[];
  manifest: Manifest;
  key: string;
  deps?: BuiltDeps;
  secrets: string[];
}

/** What `plan` knows of one host. */
export interface PlanHost {
  s: Session;
  h: Host;
  state: HostState;
  here: PlanLocal;
  view: HostView;
}

/** Everything one deploy's phases share, from the lock to the unlock. */
export interface DeployRun {
  s: Session;
  held: Held;
  release: PreparedRelease;
  envVars: Record<string, string>;
  command: string;
  began: number;
  guard: Guardrails;
  /** every host that received anything (all groups so far) */
  started: Host[];
  /** hosts switched to the new release: put back if the deploy fails */
  activated: Set<Host>;
  /** hosts whose runtime config this deploy changed: put back if it fails */
  configured: Set<Host>;
  /** hosts whose changed copy of the release this deploy replaces (a sync): nothing is linked from it */
  replacing: Set<Host>;
  /** the image built here, once the first group needed it */
  image?: ShipImage;
  bytesSent: number;
  /** hosts whose success is recorded already (the earlier groups of a rolling deploy) */
  recordedHosts: Set<Host>;
  record(h: Host, event: HistoryRecord['event'], extra?: Partial<HistoryRecord>): Promise<void>;
  recordOf(h: Host, event: HistoryRecord['event'], extra?: Partial<HistoryRecord>): HistoryRecord;
  /** the approval gate: asked once per deploy, before the first group runs a hook or goes live */
  approve(): Promise<void>;
}

/** What the guardrails did on the way, for the history and the webhooks. */
export interface Guardrails {
  readonly forced: string[];
  readonly passed: string[];
  pass(texts: string[]): void;
}

export interface Phase {
  /** the stable name events and plans carry */
  name: string;
  /** once for every host (before or after the groups of a rolling deploy), or group by group */
  scope: 'all' | 'group';
  applies(v: HostView): boolean;
  describe(p: PlanHost): PlanStep[] | Promise<PlanStep[]>;
  /** `hosts`: those it applies to (of the group, or all); `tag` names the group in a rolling deploy */
  run(r: DeployRun, hosts: Host[], tag: string): Promise<void>;
}

export const always = (): boolean => true;

/** The `forced` field of a history record: the guardrails overridden, when any were. */
export function forcedOf(guard: Pick<Guardrails, 'forced'>): { forced?: string[] } {
  return guard.forced.length ? { forced: guard.forced } : {};
}

/** The view of a host as phases see it. */
export function hostView(s: Session, h: Host, receivesDeps: boolean): HostView {
  const { cfg: role, runtime } = s.on(h);
  return { env: s.cfg, role, runtime, receivesDeps };
}
