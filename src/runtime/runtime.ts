// One interface for every way an app runs on a host.
import type { ResolvedConfig } from '../config/load.ts';
import type { Host } from '../transport/host.ts';

export interface RuntimeStatus {
  state: string;
  pid?: number;
  since?: string;
  release?: string;
  restarts?: number;
  detail?: string;
}

export interface Runtime {
  /** install or update what runs the app (unit file, supervisor); true when something changed */
  configure(host: Host, cfg: ResolvedConfig): Promise<boolean>;
  /** (re)start the app from `current` */
  restart(host: Host, cfg: ResolvedConfig): Promise<void>;
  stop(host: Host, cfg: ResolvedConfig): Promise<void>;
  status(host: Host, cfg: ResolvedConfig): Promise<RuntimeStatus>;
  /** argv printing (or following) the app's log */
  logsArgv(cfg: ResolvedConfig, opts: { lines: number; follow: boolean }): string[];
  /** argv running a shell command as the app would run: its user, env file and PORT, in `cwd` */
  execArgv(cfg: ResolvedConfig, command: string, opts: { cwd: string; env?: Record<string, string>; tty?: boolean }): { argv: string[]; sudo: boolean };
}
