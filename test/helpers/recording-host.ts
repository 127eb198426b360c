// A Host for unit tests of the engine's failure paths: it runs every command for real on this
// machine (the local target's LocalHost, in a temporary folder: no root, no SSH), records each one,
// and fails the first command whose script contains a given text, the way a real host fails:
// the connection lost (as SshHost reports it), or the command exiting with a code and stderr.
import { CommandError, renderArgv, SlipwayError } from '../../src/errors.ts';
import type { Host, RunOptions, RunResult } from '../../src/transport/host.ts';
import { LocalHost } from '../../src/transport/local.ts';

export type Fault = { kind: 'connection' } | { kind: 'exit'; code: number; stderr: string };

export class RecordingHost implements Host {
  readonly commands: string[] = [];
  private readonly inner = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
  private fault?: { match: string; fault: Fault };
  readonly target = this.inner.target;
  readonly name = this.inner.name;
  readonly loginUser = this.inner.loginUser;

  /** whether the armed fault struck: a test whose deploy never reached its phase must not pass */
  struck = false;

  /** Fail the next command whose text contains `match`, once. */
  failAt(match: string, fault: Fault): void {
    this.fault = { match, fault };
    this.struck = false;
  }

  sent(match: string): boolean {
    return this.commands.some((c) => c.includes(match));
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {}

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const text = renderArgv(argv);
    this.commands.push(text);
    const f = this.fault;
    if (f && text.includes(f.match)) {
      this.fault = undefined;
      this.struck = true;
      if (typeof opts.input === 'object') opts.input.resume(); // a stream nobody reads would stall its writer
      if (f.fault.kind === 'connection')
        throw new SlipwayError('connection', `${this.name}: connection lost while running: ${text.slice(0, 60)}`, {
          hint: 'check the network and run the command again',
        });
      const result = { stdout: '', stderr: f.fault.stderr, exitCode: f.fault.code };
      if (opts.reject === false) return result;
      throw new CommandError(this.name, argv, f.fault.code, '', f.fault.stderr);
    }
    return this.inner.run(argv, opts);
  }

  rootArgv(argv: readonly string[]): readonly string[] {
    return argv;
  }

  attach(argv: readonly string[]): Promise<number> {
    return this.inner.attach(argv);
  }
}
