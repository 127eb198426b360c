// The `self` target: this machine as a real server. Commands run here directly, as on an SSH
// host without the connection: root steps through `sudo -n` unless slipway runs as root, the
// app under systemd (or the supervisor) as its service user, Caddy in front. This is how the
// engine runs on a host itself (an agent, a git push, a deploy started on the server).
import os from 'node:os';
import { execa } from 'execa';
import type { Target } from '../config/load.ts';
import type { CommandLog, Host, RunOptions, RunResult, Tunnel } from './host.ts';
import { forwardHere, runProcess } from './local.ts';

export class SelfHost implements Host {
  readonly name: string;
  readonly loginUser = os.userInfo().username;
  readonly here = true;

  constructor(
    readonly target: Target,
    private readonly log: CommandLog,
    private readonly signal?: AbortSignal,
  ) {
    this.name = target.name;
  }

  async connect(): Promise<void> {}
  async close(): Promise<void> {}

  forward(localPort: number, remoteSocket: string): Promise<Tunnel> {
    return forwardHere(localPort, remoteSocket);
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const command = opts.sudo ? this.rootArgv(argv) : argv;
    return runProcess(this.name, command, command, opts, this.log, this.signal);
  }

  /** `sudo -n` in front unless slipway runs as root, as on an SSH host. */
  rootArgv(argv: readonly string[]): readonly string[] {
    return this.loginUser !== 'root' ? ['sudo', '-n', '--', ...argv] : argv;
  }

  async attach(argv: readonly string[], opts: { sudo?: boolean } = {}): Promise<number> {
    const command = opts.sudo ? this.rootArgv(argv) : argv;
    this.log(this.name, command);
    const r = await execa(command[0]!, command.slice(1), { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  }
}
