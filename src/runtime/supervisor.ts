// The supervisor runtime, seen from the CLI: the bundled daemon is uploaded by
// `configure` (only when its content changed) and driven with argument arrays.
import { createHash } from 'node:crypto';
import { bundled } from '../bundles.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { SlipwayError } from '../errors.ts';
import { layout, sh } from '../server/layout.ts';
import { SLOTS, slotPort } from './slots.ts';
import { instances, type Runtime, type RuntimeStatus } from './runtime.ts';
import * as z from 'zod';
import INSTALL_FILE from '../scripts/supervisor-install-file.sh';
import GAVE_UP from '../scripts/supervisor-gave-up.sh';

// $1 file, $2 sha256 of the content on stdin, [$3 where the replaced file is kept until the next change]

function appJsonPath(cfg: ResolvedConfig): string {
  return layout(cfg.appDir).appConfig;
}

function daemonPath(cfg: ResolvedConfig): string {
  return layout(cfg.appDir).supervisorBin;
}

export const supervisorRuntime: Runtime = {
  packages: { node: 'nodejs' },
  hasProcess: true,
  gaveUpArgv: (cfg, slot) => sh(GAVE_UP, layout(cfg.appDir).instanceState(slot)),
  watch: (cfg) => ({ units: [], files: instances(cfg).map((slot) => layout(cfg.appDir).instanceState(slot)) }),
  runsOnHost: true,
  provision: { title: 'supervisor', changed: 'installed the supervisor' },
  async configure(host, cfg) {
    const bundle = bundled('supervisor.cjs');
    const slots = cfg.proxy ? Object.fromEntries(SLOTS.map((slot) => [slot, slotPort(cfg, slot)])) : undefined;
    const log_max_bytes = Math.round(cfg.log_max_size * 1024 * 1024);
    const user = supervisorRuntime.appUser(cfg, host);
    const settings = { run: cfg.run, port: cfg.port, slots, stop_timeout: cfg.stop_timeout, log_max_bytes, user };
    const appJson = `${JSON.stringify(settings, null, 2)}\n`;
    let changed = false;
    for (const [file, content, replaced] of [
      [daemonPath(cfg), bundle],
      [appJsonPath(cfg), appJson, `${appJsonPath(cfg)}.replaced`],
    ] as const) {
      const hash = createHash('sha256').update(content).digest('hex');
      const r = await host.run(sh(INSTALL_FILE, file, hash, ...(replaced ? [replaced] : [])), { input: content });
      changed ||= r.stdout.trim() === 'changed';
    }
    return changed;
  },
  appUser(cfg, host) {
    // the supervisor runs as the login user: only root can start the app as another one, and on this machine
    // (the local target) the app always runs as you
    if (host.target.kind === 'local' || cfg.user === 'root') return undefined;
    if (host.loginUser === 'root') return cfg.user;
    if (cfg.userGiven && cfg.user !== host.loginUser)
      throw new SlipwayError(
        'config',
        `${host.name}: user: ${cfg.user} cannot be honoured: the supervisor runs as the login user ` +
          `${host.loginUser}, and only root can start the app as another user`,
        { hint: `log in as root (the app then runs as ${cfg.user}), or remove \`user:\` for this environment` },
      );
    return undefined;
  },
  async revertConfigure(host, cfg) {
    const file = appJsonPath(cfg);
    await host.run(sh('[ ! -f "$1" ] || mv -f "$1" "$2"', `${file}.replaced`, file));
  },
  async restart(host, cfg, slot) {
    await host.run(['node', daemonPath(cfg), 'restart', cfg.appDir, ...(slot ? [slot] : [])]);
  },
  restartArgv(cfg) {
    return { argv: ['node', daemonPath(cfg), 'restart', cfg.appDir], sudo: false };
  },
  async stop(host, cfg, slot) {
    for (const one of instances(cfg, slot)) {
      await host.run(['node', daemonPath(cfg), 'stop', cfg.appDir, ...(one ? [one] : [])]);
    }
  },
  async stopLater(host, cfg, slot, seconds) {
    await host.run(['node', daemonPath(cfg), 'stop-later', cfg.appDir, slot, String(seconds)]);
  },
  async cancelStop(host, cfg, slot) {
    await host.run(['node', daemonPath(cfg), 'cancel-stop', cfg.appDir, slot]);
  },
  async status(host, cfg): Promise<RuntimeStatus[]> {
    return Promise.all(
      instances(cfg).map(async (slot): Promise<RuntimeStatus> => {
        const r = await host.run(['node', daemonPath(cfg), 'status', cfg.appDir, ...(slot ? [slot] : [])]);
        const s = JSON.parse(r.stdout) as {
          state?: string;
          pid?: number;
          started_at?: string;
          release?: string;
          restarts?: number;
          backoff_ms?: number;
          last_exit?: string;
          next_start_at?: string;
        };
        const detail =
          s.state === 'backoff'
            ? `crashed (${s.last_exit}); next start in ${(s.backoff_ms ?? 0) / 1000}s at ${s.next_start_at}`
            : s.last_exit
              ? `last exit: ${s.last_exit}`
              : undefined;
        return {
          ...(slot ? { slot } : {}),
          state: s.state ?? 'stopped',
          running: s.state === 'running',
          pid: s.pid,
          since: s.started_at,
          release: s.release,
          restarts: s.restarts,
          detail,
        };
      }),
    );
  },
  logsArgv(cfg, { lines, follow, since }) {
    if (since)
      throw new SlipwayError(
        'config',
        "--since needs timestamps the supervisor's log file does not have (journald and docker have them)",
        { hint: 'use -n LINES' },
      );
    return {
      argv: ['tail', '-n', String(lines), ...(follow ? ['-F'] : []), layout(cfg.appDir).appLog],
      sudo: false,
    };
  },
  execArgv(cfg, command, { cwd, env = {}, port }) {
    const pairs = Object.entries({ ...env, ...(port ? { PORT: String(port) } : {}) }).map(([k, v]) => `${k}=${v}`);
    return { argv: ['node', daemonPath(cfg), 'exec', cfg.appDir, cwd, ...pairs, '--', command], sudo: false };
  },
};

/** This runtime's own keys of slipway.yml. */
export const supervisorSettings = {
  log_max_size: z
    .number()
    .positive()
    .default(10)
    .describe(
      "Supervisor runtime: megabytes after which the app's log is rotated (app.log → app.log.1 …, three kept).",
    ),
};
