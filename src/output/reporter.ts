// Human output goes to stderr as a live step list with timings; results for
// scripts go to stdout (--json). Every line passes through redaction.
import { renderArgv, shellQuote, shortArgv } from '../errors.ts';

export interface StepRecord {
  title: string;
  ms: number;
  ok: boolean;
  note?: string;
}

export interface StepControl {
  /** replace the live note shown beside the step (progress) */
  progress(note: string): void;
  /** the note printed after the step's timing */
  done(note: string): void;
}

export class Reporter {
  readonly steps: StepRecord[] = [];
  private secrets: string[] = [];
  private spaced: RegExp[] = [];
  private live?: { title: string; start: number; note: string; timer?: NodeJS.Timeout };
  private readonly tty: boolean;

  constructor(
    /** `signal`: aborted (with the signal's name as its reason) when the run must stop: Ctrl-C, SIGTERM */
    readonly opts: { json: boolean; verbose: boolean; quiet?: boolean; signal?: AbortSignal },
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!out.isTTY;
  }

  /** Values that must never appear in output, in any of the forms output gives them. */
  addSecrets(values: string[]): void {
    const kept = values.filter((v) => v.length >= MIN_SECRET_LENGTH);
    // longest first: a form that contains another is replaced whole
    this.secrets = [...new Set([...this.secrets, ...kept.flatMap(secretForms)])].sort((a, b) => b.length - a.length);
    // log viewers turn a tab into spaces (journalctl does): whitespace inside a secret matches any run of it
    this.spaced.push(
      ...kept.filter((v) => /\s/.test(v)).map((v) => new RegExp(v.split(/\s+/).map(escapeRegExp).join('\\s+'), 'g')),
    );
  }

  redact(text: string): string {
    let s = text;
    for (const v of this.secrets) s = s.split(v).join('[redacted]');
    for (const re of this.spaced) s = s.replace(re, '[redacted]');
    return s;
  }

  /** A value with every string in it redacted, before it is encoded (JSON would escape a secret's quotes first). */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v)) as T;
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactValue(v)])) as T;
    return value;
  }

  /** JSON text of a value, redacted before and after encoding. */
  redactedJson(value: unknown, indent?: number): string {
    return this.redact(JSON.stringify(this.redactValue(value), null, indent));
  }

  private write(line: string): void {
    this.clearLive();
    this.out.write(`${this.redact(line)}\n`);
    this.drawLive();
  }

  info(line: string): void {
    if (!this.opts.quiet) this.write(line);
  }

  warn(line: string): void {
    this.write(`! ${line}`);
  }

  /** For --verbose: every command, on every host. */
  readonly command = (host: string, argv: readonly string[]): void => {
    if (!this.opts.verbose) return;
    this.write(`  $ [${host}] ${renderArgv(shortArgv(argv))}`);
  };

  async step<T>(title: string, fn: (c: StepControl) => Promise<T>): Promise<T> {
    const start = performance.now();
    let note = '';
    this.live = { title, start, note: '' };
    if (this.tty) this.live.timer = setInterval(() => this.drawLive(), 100);
    this.drawLive();
    const control: StepControl = {
      progress: (n) => {
        if (this.live) this.live.note = n;
      },
      done: (n) => {
        note = n;
      },
    };
    try {
      const result = await fn(control);
      this.finish(title, start, true, note);
      return result;
    } catch (e) {
      this.finish(title, start, false, note);
      throw e;
    }
  }

  private finish(title: string, start: number, ok: boolean, note: string): void {
    const ms = Math.round(performance.now() - start);
    if (this.live?.timer) clearInterval(this.live.timer);
    this.clearLive();
    this.live = undefined;
    this.steps.push({ title, ms, ok, ...(note ? { note } : {}) });
    if (!this.opts.quiet)
      this.write(`${ok ? '✔' : '✖'} ${title.padEnd(36)} ${formatMs(ms).padStart(7)}${note ? `  ${note}` : ''}`);
  }

  private clearLive(): void {
    if (this.tty && this.live) this.out.write('\r\x1b[K');
  }

  private drawLive(): void {
    if (!this.tty || !this.live || this.opts.quiet) return;
    const elapsed = formatMs(performance.now() - this.live.start);
    this.out.write(
      `\r\x1b[K… ${this.live.title.padEnd(36)} ${elapsed.padStart(7)}${this.live.note ? `  ${this.live.note}` : ''}`,
    );
  }

  /** Print a result object for scripts (--json). */
  json(value: unknown): void {
    process.stdout.write(`${this.redactedJson(value, 2)}\n`);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Shorter secrets would be found in ordinary words and numbers: they are refused, not redacted. */
export const MIN_SECRET_LENGTH = 4;

/** The forms a secret takes in output: as is, JSON-escaped, shell-quoted, URL-encoded and base64. */
export function secretForms(v: string): string[] {
  const b64 = Buffer.from(v).toString('base64');
  return [
    v,
    JSON.stringify(v).slice(1, -1),
    shellQuote(v),
    v.replaceAll("'", "'\\''"),
    encodeURIComponent(v),
    b64,
    b64.replace(/=+$/, ''),
  ];
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
