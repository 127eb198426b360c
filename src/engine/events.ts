// The engine's one vocabulary: everything a run does is a DeployEvent on its Events bus.
// The terminal renderer, the `--json` step list, the webhooks (and a live stream) are
// subscribers; the engine itself writes to no terminal, file descriptor or socket.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Redactor } from '../secrets/redact.ts';
import type { HistoryRecord } from '../server/history.ts';

/** What a deploy's webhooks announce: the run as a whole, on all its hosts. */
/** healed, degraded: the agent put a host back, or found what it cannot heal (or stopped healing a flapping app) */
export type LifecycleEvent =
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'rolled_back'
  | 'waiting_for_approval'
  | 'healed'
  | 'degraded';

export interface LifecycleDetails {
  release?: string;
  previous?: string;
  hosts: string[];
  reason?: string;
  duration_ms?: number;
  /** waiting_for_approval: the commands that answer */
  approve?: string;
  reject?: string;
  promoted_from?: string;
  /** healed, degraded: what the agent found and did, and the command that fixes what it cannot */
  found?: string[];
  did?: string[];
  fix?: string;
}

export type DeployEvent =
  /** `phase`: the stable name (transfer, activate …); `title`: the sentence shown for it */
  | { type: 'phase'; phase: string; title: string; state: 'start' }
  | { type: 'phase'; phase: string; title: string; state: 'progress'; note: string }
  | { type: 'phase'; phase: string; title: string; state: 'done' | 'failed'; ms: number; note?: string }
  | { type: 'message'; level: 'info' | 'warn'; text: string }
  /** every command sent to a host (shown with --verbose) */
  | { type: 'command'; host: string; argv: readonly string[] }
  /** a line a build, install or hook printed (shown with --verbose) */
  | { type: 'output'; host?: string; line: string }
  /** a history record, once it is on the host */
  | { type: 'record'; host: string; record: HistoryRecord }
  | { type: 'lifecycle'; event: LifecycleEvent; details: LifecycleDetails }
  | { type: 'approval'; release: string; state: 'waiting' | 'approved' | 'rejected'; by?: string }
  | { type: 'guardrail'; state: 'passed' | 'forced'; text: string };

export type EventSink = (e: DeployEvent) => void;

export interface StepControl {
  /** replace the live note shown beside the step (progress) */
  progress(note: string): void;
  /** the note printed after the step's timing */
  done(note: string): void;
}

export interface StepRecord {
  title: string;
  ms: number;
  ok: boolean;
  note?: string;
}

export class Events {
  /** every finished step, for `--json` results */
  readonly steps: StepRecord[] = [];
  readonly redactor = new Redactor();
  private readonly sinks = new Set<EventSink>();
  /** the flow's phase the steps under way belong to */
  private readonly current = new AsyncLocalStorage<string>();

  constructor(
    /** `signal`: aborted (with the signal's name as its reason) when the run must stop; `verbose`: emit output */
    readonly opts: { verbose?: boolean; signal?: AbortSignal } = {},
  ) {
    this.subscribe((e) => {
      if (e.type === 'phase' && (e.state === 'done' || e.state === 'failed'))
        this.steps.push({ title: e.title, ms: e.ms, ok: e.state === 'done', ...(e.note ? { note: e.note } : {}) });
    });
  }

  get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  get verbose(): boolean {
    return !!this.opts.verbose;
  }

  /** Returns the unsubscribe function. */
  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  emit(e: DeployEvent): void {
    for (const sink of this.sinks) sink(e);
  }

  addSecrets(values: string[]): void {
    this.redactor.addSecrets(values);
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** The run as a whole: what webhooks announce. */
  lifecycle(event: LifecycleEvent, details: LifecycleDetails): void {
    this.emit({ type: 'lifecycle', event, details });
  }

  /** A history record, once it is written on the host. */
  recorded(host: string, record: HistoryRecord): void {
    this.emit({ type: 'record', host, record });
  }

  info(text: string): void {
    this.emit({ type: 'message', level: 'info', text });
  }

  warn(text: string): void {
    this.emit({ type: 'message', level: 'warn', text });
  }

  readonly command = (host: string, argv: readonly string[]): void => {
    if (this.verbose) this.emit({ type: 'command', host, argv });
  };

  /** With --verbose, a sink for the lines a command prints; otherwise undefined (nothing is collected). */
  output(host?: string): ((line: string) => void) | undefined {
    return this.verbose ? (line) => this.emit({ type: 'output', host, line }) : undefined;
  }

  /** Run `fn` as the flow's phase `name`: the steps it takes are that phase's events. */
  phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.current.run(name, fn);
  }

  /** Run one step (of the phase under way, else a phase of its own): start, progress, done/failed around `fn`. */
  async step<T>(
    title: string,
    fn: (c: StepControl) => Promise<T>,
    phase: string = this.current.getStore() ?? title,
  ): Promise<T> {
    const start = performance.now();
    let note = '';
    this.emit({ type: 'phase', phase, title, state: 'start' });
    const control: StepControl = {
      progress: (n) => this.emit({ type: 'phase', phase, title, state: 'progress', note: n }),
      done: (n) => {
        note = n;
      },
    };
    const end = (state: 'done' | 'failed') =>
      this.emit({ type: 'phase', phase, title, state, ms: Math.round(performance.now() - start), note });
    try {
      const result = await fn(control);
      end('done');
      return result;
    } catch (e) {
      end('failed');
      throw e;
    }
  }
}
