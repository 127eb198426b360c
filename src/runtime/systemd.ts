// The systemd runtime: one unit per app, running as an unprivileged user with
// an EnvironmentFile and hardening; logs go to journald.
import type { ResolvedConfig } from '../config/load.ts';
import { layout, sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { Runtime, RuntimeStatus } from './runtime.ts';

export function unitName(app: string): string {
  return `slipway-${app}.service`;
}

/** Quote one word for a systemd command line: double quotes, C escapes, and %/$ doubled so systemd expands nothing. */
export function systemdQuote(word: string): string {
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`).replaceAll('%', '%%').replaceAll('$', '$$$$')}"`;
}

type UnitInput = Pick<ResolvedConfig, 'app' | 'environment' | 'appDir' | 'user' | 'port' | 'run' | 'stop_timeout'>;

/** The unit file (pure). */
export function systemdUnit(cfg: UnitInput): string {
  const l = layout(cfg.appDir);
  return `# Managed by slipway: \`slipway setup\` and \`slipway deploy\` overwrite this file.
[Unit]
Description=slipway app ${cfg.app} (${cfg.environment})
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${cfg.user}
Group=${cfg.user}
WorkingDirectory=${l.current}
EnvironmentFile=-${l.envFile}
Environment=PORT=${cfg.port}
ExecStart=/bin/sh -c ${systemdQuote(cfg.run)}
Restart=on-failure
RestartSec=1
TimeoutStopSec=${Math.ceil(cfg.stop_timeout)}
SyslogIdentifier=${cfg.app}
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${l.shared}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes

[Install]
WantedBy=multi-user.target
`;
}

const INSTALL_UNIT = `set -e
f="/etc/systemd/system/$1"; tmp="$f.tmp.$$"
cat > "$tmp"
if cmp -s "$tmp" "$f"; then rm -f "$tmp"; echo unchanged; exit 0; fi
chmod 0644 "$tmp"; mv -f "$tmp" "$f"
systemctl daemon-reload
systemctl enable "$1" >/dev/null 2>&1
echo changed`;

export const systemdRuntime: Runtime = {
  async configure(host, cfg) {
    const r = await host.run(sh(INSTALL_UNIT, unitName(cfg.app)), { input: systemdUnit(cfg), sudo: true });
    return r.stdout.trim() === 'changed';
  },
  async restart(host, cfg) {
    await host.run(['systemctl', 'restart', unitName(cfg.app)], { sudo: true });
  },
  async stop(host, cfg) {
    await host.run(['systemctl', 'stop', unitName(cfg.app)], { sudo: true });
  },
  async status(host, cfg): Promise<RuntimeStatus> {
    const r = await host.run(['systemctl', 'show', unitName(cfg.app), '--property=ActiveState,SubState,MainPID,ActiveEnterTimestamp,NRestarts']);
    const p = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const link = await host.run(['readlink', layout(cfg.appDir).current], { reject: false });
    return {
      state: `${p.ActiveState} (${p.SubState})`,
      pid: Number(p.MainPID) || undefined,
      since: p.ActiveEnterTimestamp || undefined,
      restarts: p.NRestarts ? Number(p.NRestarts) : undefined,
      release: link.stdout.trim().replace(/^.*\//, '') || undefined,
    };
  },
  logsArgv(cfg, { lines, follow }) {
    return ['journalctl', '--unit', unitName(cfg.app), '--lines', String(lines), '--no-pager', '--output', 'short-iso', ...(follow ? ['--follow'] : [])];
  },
  execArgv(cfg, command, { cwd, env = {}, tty }) {
    const l = layout(cfg.appDir);
    const argv = ['systemd-run', '--quiet', '--wait', '--collect', tty ? '--pty' : '--pipe', `--uid=${cfg.user}`, `--gid=${cfg.user}`, `--working-directory=${cwd}`, `--property=EnvironmentFile=-${l.envFile}`, `--setenv=PORT=${cfg.port}`];
    for (const [k, v] of Object.entries(env)) argv.push(`--setenv=${k}=${v}`);
    argv.push('--', '/bin/sh', '-c', command);
    return { argv, sudo: true };
  },
};
