// The systemd runtime: the app runs as an unprivileged user with an
// EnvironmentFile and hardening; logs go to journald. Without a proxy, one
// unit `slipway-<app>.service` runs `current`; behind Caddy, the template
// `slipway-<app>@.service` runs slot a or b from `slots/<slot>`.
import type { ResolvedConfig } from '../config/load.ts';
import { SLOTS, slotPort, type Slot } from './slots.ts';
import { layout, script, sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import { linkedRelease } from '../server/release.ts';
import { cancelDrain, scheduleDrain } from './drain.ts';
import { instances, type Runtime, type RuntimeStatus } from './runtime.ts';
import { execIfSimple } from './exec-form.ts';
import REVERT_UNIT from '../scripts/systemd-revert-unit.sh';
import WRITE_IF_CHANGED from '../scripts/systemd-write-if-changed.sh';
import RESTART from '../scripts/systemd-restart.sh';
import ENABLE from '../scripts/systemd-enable.sh';
import GAVE_UP from '../scripts/systemd-gave-up.sh';
import INSTALL_UNIT from '../scripts/systemd-install-unit.sh';

export function unitName(app: string, slot?: Slot | ''): string {
  return slot === undefined ? `slipway-${app}.service` : `slipway-${app}@${slot}.service`;
}

/** Quote one word for a systemd command line: double quotes, C escapes, and %/$ doubled so systemd expands nothing. */
export function systemdQuote(word: string): string {
  return `"${word
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replaceAll('\t', '\\t')
    .replaceAll('%', '%%')
    .replaceAll('$', '$$$$')}"`;
}

/**
 * A value written into a unit file as it is (paths, names, numbers). The config refuses anything
 * else long before, so this only guards the file against a value that slipped through.
 */
export function unitValue(value: string | number): string {
  const v = String(value);
  if (!/^[A-Za-z0-9._/+@:=-]+$/.test(v))
    throw new Error(`internal: ${JSON.stringify(v)} cannot be written into a unit file unquoted`);
  return v;
}

/**
 * The sandbox of the app, and of everything run as the app (exec, hooks, wait_for, verify): the same
 * properties in the unit and on every \`systemd-run\`. Not MemoryDenyWriteExecute (JIT runtimes such as
 * Node need writable code pages) nor PrivateNetwork (the app serves the network). The setuid calls are let
 * back in: servers such as Gunicorn set their workers' user to the one they run as, which is harmless with no
 * capability, and refusing it stops them.
 */
export function sandboxProperties(sharedDir: string): string[] {
  return [
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${unitValue(sharedDir)}`,
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'LockPersonality=yes',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged @resources',
    'SystemCallFilter=@setuid',
    'SystemCallErrorNumber=EPERM',
    'RemoveIPC=yes',
    'KeyringMode=private',
    'DevicePolicy=closed',
    'UMask=0077',
  ];
}

type UnitInput = Pick<ResolvedConfig, 'app' | 'environment' | 'appDir' | 'user' | 'port' | 'run' | 'stop_timeout'> & {
  slots?: boolean;
};

/** The unit file (pure): the single unit, or with `slots` the template for slots a and b. */
export function systemdUnit(cfg: UnitInput): string {
  const l = layout(unitValue(cfg.appDir));
  const where = cfg.slots
    ? `WorkingDirectory=${l.appDir}/slots/%i
EnvironmentFile=-${l.envFile}
EnvironmentFile=${l.meta}/slot-%i.env`
    : `WorkingDirectory=${l.current}
EnvironmentFile=-${l.envFile}
Environment=PORT=${unitValue(cfg.port)}`;
  return `# Managed by slipway: \`slipway setup\` and \`slipway deploy\` overwrite this file.
[Unit]
Description=slipway app ${unitValue(cfg.app)} (${unitValue(cfg.environment)})${cfg.slots ? ', slot %i' : ''}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${unitValue(cfg.user)}
Group=${unitValue(cfg.user)}
${where}
ExecStart=/bin/sh -c ${systemdQuote(execIfSimple(cfg.run))}
Restart=on-failure
RestartSec=1
TimeoutStopSec=${unitValue(Math.ceil(cfg.stop_timeout))}
SyslogIdentifier=${unitValue(cfg.app)}
${sandboxProperties(l.shared).join('\n')}

[Install]
WantedBy=multi-user.target
`;
}

/** journalctl argv for a unit (a glob matches several), shared with the static runtime (Caddy's unit). */
export function journalArgv(
  unit: string,
  { lines, follow, since }: { lines: number; follow: boolean; since?: string },
): string[] {
  return [
    'journalctl',
    '--unit',
    unit,
    '--lines',
    String(lines),
    '--no-pager',
    '--output',
    'short-iso',
    ...(since ? ['--since', since] : []),
    ...(follow ? ['--follow'] : []),
  ];
}

// $1 unit file name to install (content on stdin), $2 unit file name that must not exist (the other mode's).

// $1 unit, $2 the unit it replaced (INSTALL_UNIT's $3): put it back

// $1 file, content on stdin: write it when different

// $1 unit: (re)start it. A deliberate restart does not count towards the crash-loop limit
// (StartLimitBurst): a deploy and two quick rollbacks must not find the unit refusing to start.

// $1 slot unit: (re)start it and start it at boot (the live slot)
const RESTART_SLOT = script({}, ENABLE, RESTART);

/** The unit file a config writes: the app's unit, or behind the proxy the slots' template (slipway-<app>@.service). */
function unitFile(cfg: Pick<ResolvedConfig, 'app' | 'proxy'>): string {
  return unitName(cfg.app, cfg.proxy ? '' : undefined);
}

/** The app's unit on the host against the one slipway writes for this config. */
async function unitOnHost(host: Host, cfg: ResolvedConfig): Promise<'missing' | 'same' | 'differs'> {
  const onHost = await host.run(['cat', `/etc/systemd/system/${unitFile(cfg)}`], { reject: false });
  if (onHost.exitCode !== 0) return 'missing';
  return onHost.stdout === systemdUnit({ ...cfg, slots: !!cfg.proxy }) ? 'same' : 'differs';
}

export const systemdRuntime: Runtime = {
  packages: { 'systemd-run': 'systemd' },
  hasProcess: true,
  runsOnHost: true,
  notLocal: 'the local target runs apps with runtime: supervisor → remove `runtime: systemd` for this environment',
  provision: { title: 'systemd unit', changed: 'wrote the unit' },
  async configure(host, cfg) {
    const slots = !!cfg.proxy;
    const l = layout(cfg.appDir);
    const r = await host.run(
      sh(INSTALL_UNIT, unitFile(cfg), unitName(cfg.app, slots ? undefined : ''), l.replacedUnit),
      { input: systemdUnit({ ...cfg, slots }), sudo: true },
    );
    let changed = r.stdout.trim() === 'changed';
    if (slots) {
      for (const slot of SLOTS) {
        const w = await host.run(sh(WRITE_IF_CHANGED, `${l.meta}/slot-${slot}.env`), {
          input: `PORT=${slotPort(cfg, slot)}\n`,
          sudo: true,
        });
        changed ||= w.stdout.trim() === 'changed';
      }
    }
    return changed;
  },
  appUser(cfg) {
    return cfg.user;
  },
  async revertConfigure(host, cfg) {
    await host.run(sh(REVERT_UNIT, unitFile(cfg), layout(cfg.appDir).replacedUnit), { sudo: true });
  },
  gaveUpArgv: (cfg, slot) => sh(GAVE_UP, unitName(cfg.app, slot)),
  watch: (cfg) => ({
    units: instances(cfg).map((slot) => unitName(cfg.app, slot)),
    files: [`/etc/systemd/system/${unitFile(cfg)}`],
  }),
  async describeConfigure(host, cfg) {
    const what = { missing: 'would be written', same: 'unchanged', differs: 'would be rewritten' };
    return `Unit ${unitFile(cfg)}: ${what[await unitOnHost(host, cfg)]}`;
  },
  async configDrift(host, cfg) {
    const on = await unitOnHost(host, cfg);
    if (on === 'missing') return `unit ${unitFile(cfg)} is missing`;
    return on === 'differs' ? `unit ${unitFile(cfg)} differs from what slipway writes` : undefined;
  },
  async restart(host, cfg, slot) {
    if (!slot) return void (await host.run(this.restartArgv!(cfg).argv, { sudo: true }));
    await cancelDrain(host, cfg.app, slot);
    await host.run(sh(RESTART_SLOT, unitName(cfg.app, slot)), { sudo: true });
  },
  restartArgv(cfg) {
    return { argv: sh(RESTART, unitName(cfg.app)), sudo: true };
  },
  async stop(host, cfg, slot) {
    await host.run(['systemctl', 'stop', ...instances(cfg, slot).map((one) => unitName(cfg.app, one))], { sudo: true });
  },
  async stopLater(host, cfg, slot, seconds) {
    // the other slot is live at boot
    await host.run(['systemctl', 'disable', unitName(cfg.app, slot)], { sudo: true, reject: false });
    await scheduleDrain(host, cfg.app, slot, seconds, ['systemctl', 'stop', unitName(cfg.app, slot)]);
  },
  async cancelStop(host, cfg, slot) {
    await cancelDrain(host, cfg.app, slot);
  },
  async status(host, cfg): Promise<RuntimeStatus[]> {
    const l = layout(cfg.appDir);
    return Promise.all(
      instances(cfg).map(async (slot): Promise<RuntimeStatus> => {
        const r = await host.run([
          'systemctl',
          'show',
          unitName(cfg.app, slot),
          '--property=ActiveState,SubState,MainPID,ActiveEnterTimestamp,NRestarts',
        ]);
        const p = Object.fromEntries(
          r.stdout
            .trim()
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
        );
        const release = await linkedRelease(host, slot ? `${cfg.appDir}/slots/${slot}` : l.current);
        return {
          ...(slot ? { slot } : {}),
          state: `${p.ActiveState} (${p.SubState})`,
          running: p.ActiveState === 'active',
          pid: Number(p.MainPID) || undefined,
          since: p.ActiveEnterTimestamp || undefined,
          restarts: p.NRestarts ? Number(p.NRestarts) : undefined,
          release,
        };
      }),
    );
  },
  logsArgv(cfg, opts) {
    return { argv: journalArgv(cfg.proxy ? `slipway-${cfg.app}@*.service` : unitName(cfg.app), opts), sudo: true };
  },
  execArgv(cfg, command, { cwd, env = {}, tty, port }) {
    const l = layout(cfg.appDir);
    const argv = [
      'systemd-run',
      '--quiet',
      '--wait',
      '--collect',
      tty ? '--pty' : '--pipe',
      `--uid=${cfg.user}`,
      `--gid=${cfg.user}`,
      `--working-directory=${cwd}`,
      `--property=EnvironmentFile=-${l.envFile}`,
      `--setenv=PORT=${port ?? cfg.port}`,
    ];
    for (const p of sandboxProperties(l.shared)) argv.push(`--property=${p}`);
    for (const [k, v] of Object.entries(env)) argv.push(`--setenv=${k}=${v}`);
    // systemd expands $VAR and ${VAR} in a transient unit's command line (systemd-run before v254
    // cannot turn that off); $$ is its escape for a literal $, so the shell gets the command as written.
    argv.push(
      '--',
      '/bin/sh',
      '-c',
      command.replaceAll('$', () => '$$'),
    );
    return { argv, sudo: true };
  },
};
