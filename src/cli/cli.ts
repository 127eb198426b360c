// What every command file shares: the Cli handle the commands are registered on, and the
// parsers of argument values (a bad value is a usage error, exit 2, naming the option).
import { type Command, InvalidArgumentError } from 'commander';
import type { ResolvedConfig } from '../config/load.ts';
import type { Events } from '../engine/events.ts';

export interface GlobalOptions {
  config: string;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
}

export interface Cli {
  program: Command;
  /** the run's event bus; the terminal renderer is subscribed to it */
  events(): Events;
  /** print a result for scripts (--json), redacted */
  json(value: unknown): void;
  resolve(env: string): ResolvedConfig;
  globals(): GlobalOptions;
  /** the command line, as recorded in locks and history */
  commandLine: string;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

/** A count (`-n 20`): a whole number of at least 1. */
export function count(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 1, e.g. 20');
  return Number(value);
}

/** A release id or its unique prefix, as `slipway releases` shows it: never empty, never a path. */
export function releaseArg(value: string): string {
  if (!/^[0-9A-Za-z-]+$/.test(value))
    throw new InvalidArgumentError(
      'expected a release id (or its start) as `slipway releases ENV` shows it, e.g. 20261122T0315',
    );
  return value;
}

/** `--limit`: a host count or a percentage */
export function hostLimit(value: string): number | string {
  if (/^[1-9]\d*$/.test(value)) return Number(value);
  if (/^(100|[1-9]\d?)%$/.test(value)) return value;
  throw new InvalidArgumentError('expected a number of hosts (2) or a percentage (25%)');
}
