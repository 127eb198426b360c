// The local target: the "host" is this machine, commands run directly.
import os from 'node:os';
import { execa } from 'execa';
import type { Target } from '../config/load.ts';
import { CommandError } from '../errors.ts';
import type { CommandLog, Host, RunOptions, RunResult } from './host.ts';

export class LocalHost implements Host {
  readonly name = 'local';
  readonly loginUser = os.userInfo().username;
  constructor(
    readonly target: Target,
    private readonly log: CommandLog,
    private readonly signal?: AbortSignal,
  ) {}

  async connect(): Promise<void> {}
  async close(): Promise<void> {}

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return runProcess(this.name, argv, argv, opts, this.log, this.signal);
  }

  /** the local target runs everything as you */
  rootArgv(argv: readonly string[]): readonly string[] {
    return argv;
  }

  async attach(argv: readonly string[]): Promise<number> {
    this.log(this.name, argv);
    const r = await execa(argv[0]!, argv.slice(1), { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  }
}

/**
 * Run a process, streaming lines if asked; throw a CommandError on failure unless reject is false. `signal`
 * stops it (SIGTERM) when the run is cancelled while it runs.
 */
export async function runProcess(
  where: string,
  shown: readonly string[],
  argv: readonly string[],
  opts: RunOptions,
  log: CommandLog,
  signal?: AbortSignal,
): Promise<RunResult> {
  log(where, shown);
  const child = execa(argv[0]!, argv.slice(1), {
    ...(opts.inputFile ? { inputFile: opts.inputFile } : { input: opts.input ?? '' }),
    ...(opts.outputFile ? { stdout: { file: opts.outputFile } } : {}),
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
    // stopped if the run is cancelled while it runs; the cleanup that follows a cancel runs normally
    ...(signal && !signal.aborted ? { cancelSignal: signal } : {}),
  });
  if (opts.onLine) {
    let pending = '';
    const emit = (chunk: Buffer | string) => {
      pending += chunk.toString();
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) opts.onLine!(line);
    };
    child.stdout?.on('data', emit);
    child.stderr?.on('data', emit);
  }
  const r = await child;
  const result = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? (r.signal ? 128 : 1),
  };
  if (result.exitCode !== 0 && opts.reject !== false) {
    throw new CommandError(where, shown, r.exitCode, result.stdout, result.stderr, r.signal ?? undefined);
  }
  return result;
}
