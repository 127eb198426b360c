// An app's log for the dashboard: one follower per app (the runtime's own log command, as `slipway logs -f` runs it)
// while a page watches, its lines numbered and the last ones kept, so a page that reconnects with Last-Event-ID
// misses nothing. The follower stops a while after the last page left.
import { execa, type ResultPromise } from 'execa';
import type { LogLine } from '../web/board.ts';

const KEPT_LINES = 1000;
const LINGER_MS = 30_000;

export class LogFollower {
  private readonly lines: LogLine[] = [];
  private readonly pages = new Set<(l: LogLine) => void>();
  private next = 1;
  private child: ResultPromise | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly argv: () => string[],
    private readonly log: (line: string) => void,
  ) {}

  /** The kept lines after `after`, then each new one; returns the stop. */
  follow(after: number, fn: (l: LogLine) => void): () => void {
    clearTimeout(this.idle);
    for (const l of this.lines) if (l.id > after) fn(l);
    this.pages.add(fn);
    this.ensureRunning();
    return () => {
      this.pages.delete(fn);
      if (!this.pages.size) this.idle = setTimeout(() => this.stop(), LINGER_MS);
    };
  }

  stop(): void {
    this.child?.kill();
    this.child = undefined;
  }

  private ensureRunning(): void {
    if (this.child) return;
    const [cmd, ...args] = this.argv();
    const child = execa(cmd!, args, { reject: false, stdin: 'ignore', buffer: false, all: true });
    this.child = child;
    let pending = '';
    child.all?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.add(line);
    });
    void child.then((r) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.pages.size) this.log(`log follower ended (${r.exitCode ?? r.signal}): ${cmd}`);
    });
  }

  private add(line: string): void {
    const l = { id: this.next++, line };
    this.lines.push(l);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    for (const page of this.pages) page(l);
  }
}
