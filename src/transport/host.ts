// A host runs argument arrays and receives files. Two kinds: ssh and local.
import type { Readable } from 'node:stream';
import type { Target } from '../config/load.ts';

export interface RunOptions {
  /** written to the command's stdin (how secrets travel: never in argv); a stream for large payloads */
  input?: string | Readable;
  /** a file streamed to the command's stdin (large payloads: image archives) */
  inputFile?: string;
  /** write the command's stdout, as bytes, to this file (archives) instead of returning it */
  outputFile?: string;
  /** run as root: prefixed with `sudo -n` when the login user is not root */
  sudo?: boolean;
  /** return non-zero exits instead of throwing */
  reject?: boolean;
  /** each output line as it arrives */
  onLine?: (line: string) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Host {
  readonly target: Target;
  readonly name: string;
  /** the user commands run as on the host */
  readonly loginUser: string;
  /** this machine, commands run as this process's user: a read may be done in process instead of by a command */
  readonly here?: boolean;
  connect(): Promise<void>;
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** argv that runs as root (what `sudo: true` does), for a step inside a chained command */
  rootArgv(argv: readonly string[]): readonly string[];
  /** run with the terminal attached (logs -f, exec); resolves to the exit code */
  attach(argv: readonly string[], opts?: { tty?: boolean; sudo?: boolean }): Promise<number>;
  close(): Promise<void>;
  /** forward 127.0.0.1:localPort here to a unix socket on the host (the dashboard's tunnel) until closed */
  forward?(localPort: number, remoteSocket: string): Promise<Tunnel>;
}

export interface Tunnel {
  /** resolves when the tunnel ends (closed, or the connection lost) */
  ended: Promise<void>;
  close(): void;
}

/** Called with every command run, for --verbose. */
export type CommandLog = (host: string, argv: readonly string[]) => void;
