// The local target: the "host" is this machine, commands run directly.
import { readFile, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import { execa } from 'execa';
import type { Target } from '../config/load.ts';
import { CommandError } from '../errors.ts';
import type { CommandLog, Host, RunOptions, RunResult, Tunnel } from './host.ts';

export class LocalHost implements Host {
  readonly name = 'local';
  readonly loginUser = os.userInfo().username;
  readonly here = true;
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
  const inProcess = await readInProcess(argv, opts);
  if (inProcess) return settle(where, shown, inProcess, opts);
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
    // what went to a file is not output to show (an archive in an error message is noise, or worse)
    stdout: opts.outputFile ? '' : String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? (r.signal ? 128 : 1),
  };
  return settle(where, shown, result, opts, r.signal ?? undefined);
}

function settle(
  where: string,
  shown: readonly string[],
  result: RunResult,
  opts: RunOptions,
  signal?: string,
): RunResult {
  if (result.exitCode !== 0 && opts.reject !== false) {
    throw new CommandError(where, shown, result.exitCode, result.stdout, result.stderr, signal);
  }
  return result;
}

/**
 * `cat FILE` and `test -d PATH` done in this process, as the same user (a command run through sudo starts with
 * `sudo` and is not one of them): the agent reads its host this way every few seconds, and a child process for
 * each read would be most of what it costs.
 */
async function readInProcess(argv: readonly string[], opts: RunOptions): Promise<RunResult | undefined> {
  if (opts.input !== undefined || opts.inputFile || opts.outputFile || opts.onLine) return undefined;
  const [program, a, b] = argv;
  if (program === 'cat' && argv.length === 2 && a && !a.startsWith('-'))
    return readFile(a, 'utf8').then(
      (stdout) => ({ stdout, stderr: '', exitCode: 0 }),
      (e: Error) => ({ stdout: '', stderr: `cat: ${a}: ${e.message}\n`, exitCode: 1 }),
    );
  if (program === 'test' && argv.length === 3 && a === '-d' && b)
    return stat(b).then(
      (st) => ({ stdout: '', stderr: '', exitCode: st.isDirectory() ? 0 : 1 }),
      () => ({ stdout: '', stderr: '', exitCode: 1 }),
    );
  return undefined;
}

/** Resolves once 127.0.0.1:port takes a connection; rejects if `ended` comes first or after 15 s. */
export async function untilListening(port: number, ended: Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  let over = false;
  void ended.then(() => {
    over = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!over && Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(over ? 'it ended before it listened' : `nothing listened on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A free port on 127.0.0.1 (`wanted`, refused when taken; 0: any). */
export function freePort(wanted = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e) => reject(new Error(`127.0.0.1:${wanted} is taken: ${e.message}`)));
    server.listen(wanted, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** 127.0.0.1:localPort passed on to a unix socket on this machine (the self target's tunnel). */
export function forwardHere(localPort: number, socketPath: string): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    const server = createServer((c) => {
      const upstream = connect(socketPath);
      c.pipe(upstream).pipe(c);
      const end = () => {
        c.destroy();
        upstream.destroy();
      };
      c.on('error', end);
      upstream.on('error', end);
    });
    const ended = new Promise<void>((r) => server.once('close', () => r()));
    server.once('error', reject);
    server.listen(localPort, '127.0.0.1', () => resolve({ ended, close: () => void server.close() }));
  });
}
