// Errors a user can act on: what failed, where, and what to do next.
// Each kind maps to a documented exit code (see README "Exit codes").

export const EXIT = {
  ok: 0,
  failure: 1,
  config: 2,
  locked: 3,
  health: 4,
  connection: 5,
  hook: 6,
  dirty: 7,
  guardrail: 8,
  interrupted: 130,
} as const;

export type ExitKind = keyof typeof EXIT;

export class SlipwayError extends Error {
  readonly kind: ExitKind;
  readonly hint?: string;
  readonly details?: string;
  constructor(kind: ExitKind, message: string, opts: { hint?: string; details?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.hint = opts.hint;
    this.details = opts.details;
  }
  get exitCode(): number {
    return EXIT[this.kind];
  }
}

/** A command that exited non-zero, with its argv, exit code and output in one message. */
export class CommandError extends SlipwayError {
  readonly exitStatus: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  constructor(
    where: string,
    argv: readonly string[],
    exitStatus: number | undefined,
    stdout: string,
    stderr: string,
    signal?: string,
  ) {
    const how = signal ? `killed by ${signal}` : `exit ${exitStatus}`;
    const out = [stderr.trim(), stdout.trim()].filter(Boolean).join('\n');
    // the command's own last word (`sh: 1: npm: not found`) first: it is what history and webhooks keep
    const cause = stderr.trim().split('\n').at(-1) || stdout.trim().split('\n').at(-1) || 'no output';
    super('failure', `${where}: ${cause} (${how})`, {
      details: [...(out ? [tail(out, 40)] : []), `command: ${renderArgv(shortArgv(argv))}`].join('\n'),
    });
    this.exitStatus = exitStatus;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** An argv as people read it: slipway's own `sh -c` scripts by their first line only. */
export function shortArgv(argv: readonly string[]): readonly string[] {
  const i = argv.indexOf('-c');
  if (i < 0 || !/(^|\/)sh$/.test(argv[i - 1] ?? '') || !argv[i + 1]?.includes('\n')) return argv;
  return [...argv.slice(0, i + 1), `<script: ${argv[i + 1]!.split('\n')[0]!.slice(0, 40)}…>`, ...argv.slice(i + 2)];
}

/** Render an argv for display (copy-pasteable into a POSIX shell). */
export function renderArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Quote one argument for a POSIX shell. The only place slipway quotes anything. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_\-+=/.,:@%]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}
