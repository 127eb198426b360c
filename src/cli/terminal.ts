// The terminal renderer: a subscriber of the run's events. Human output goes to stderr as
// a live step list with timings; results for scripts go to stdout (--json). Every line
// passes through the run's redaction.
import type { DeployEvent, Events } from '../engine/events.ts';
import { renderArgv, shortArgv } from '../errors.ts';
import { formatMs } from '../text.ts';

export class Terminal {
  private live?: { title: string; start: number; note: string; timer?: NodeJS.Timeout };
  private readonly tty: boolean;

  constructor(
    private readonly events: Events,
    private readonly opts: { quiet?: boolean } = {},
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!out.isTTY;
    events.subscribe((e) => this.render(e));
  }

  private render(e: DeployEvent): void {
    if (e.type === 'message') {
      if (e.level === 'warn') this.write(`! ${e.text}`);
      else if (!this.opts.quiet) this.write(e.text);
    } else if (e.type === 'command') this.write(`  $ [${e.host}] ${renderArgv(shortArgv(e.argv))}`);
    else if (e.type === 'output') this.write(e.host ? `  [${e.host}] ${e.line}` : `  ${e.line}`);
    else if (e.type === 'phase') this.renderPhase(e);
  }

  private renderPhase(e: Extract<DeployEvent, { type: 'phase' }>): void {
    if (e.state === 'start') {
      this.live = { title: e.title, start: performance.now(), note: '' };
      if (this.tty) this.live.timer = setInterval(() => this.drawLive(), 100);
      this.drawLive();
    } else if (e.state === 'progress') {
      if (this.live) this.live.note = e.note;
    } else {
      if (this.live?.timer) clearInterval(this.live.timer);
      this.clearLive();
      this.live = undefined;
      if (!this.opts.quiet)
        this.write(
          `${e.state === 'done' ? '✔' : '✖'} ${e.title.padEnd(36)} ${formatMs(e.ms).padStart(7)}` +
            `${e.note ? `  ${e.note}` : ''}`,
        );
    }
  }

  private write(line: string): void {
    this.clearLive();
    this.out.write(`${this.events.redact(line)}\n`);
    this.drawLive();
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
}

/** Print a result object for scripts (--json), redacted. */
export function printJson(events: Events, value: unknown): void {
  process.stdout.write(`${events.redactor.redactedJson(value, 2)}\n`);
}
