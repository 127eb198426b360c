// Installing the agent on a host (setup's `agent` phase): the bundle, its unit, and the app's registration. The
// agent is restarted only when its bundle or unit changed; the apps it watches run on untouched.
import { createHash } from 'node:crypto';
import { bundled } from '../bundles.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { AGENT, sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { Registration } from './agent.ts';
import INSTALL_FILE from '../scripts/supervisor-install-file.sh';
import WRITE_IF_CHANGED from '../scripts/systemd-write-if-changed.sh';
import REGISTER from '../scripts/agent-register.sh';
import START from '../scripts/agent-start.sh';

/**
 * The agent's unit (pure): root, since it restarts units and rewrites Caddy; restarted by systemd if it dies. Its
 * umask is a login's (022): the releases its deploys make are read by the app's user, as those made over SSH are;
 * its own files are written with their modes (0600, folders 0700).
 */
export function agentUnit(): string {
  return `[Unit]
Description=slipway agent: keeps this host's apps at their desired release
After=network.target

[Service]
ExecStart=node ${AGENT.bin} run
Environment=XDG_CACHE_HOME=${AGENT.cache}
Environment=NODE_OPTIONS=--max-semi-space-size=1
Restart=always
RestartSec=1
Nice=5
UMask=0022

[Install]
WantedBy=multi-user.target
`;
}

/** The agent runs on servers (and `self`), not on the local target, unless `agent: false`. */
export function agentWanted(cfg: Pick<ResolvedConfig, 'agent'>, h: Host): boolean {
  return cfg.agent && h.target.kind !== 'local';
}

export function registration(cfg: ResolvedConfig, h: Host): Registration {
  return { app: cfg.app, host: h.name, appDir: cfg.appDir, webhooks: cfg.webhooks };
}

/** Install or update the agent and register the app with it; what changed. */
export async function installAgent(h: Host, cfg: ResolvedConfig): Promise<string[]> {
  const bundle = bundled('agent.mjs');
  const hash = createHash('sha256').update(bundle).digest('hex');
  const [bin, unit, reg] = await Promise.all([
    h.run(sh(INSTALL_FILE, AGENT.bin, hash), { input: bundle, sudo: true }),
    h.run(sh(WRITE_IF_CHANGED, AGENT.unitFile), { input: agentUnit(), sudo: true }),
    h.run(sh(REGISTER, AGENT.apps, AGENT.app(cfg.app)), { input: JSON.stringify(registration(cfg, h)), sudo: true }),
  ]);
  const upgraded = bin.stdout.trim() === 'changed' || unit.stdout.includes('changed');
  await h.run(sh(START, AGENT.unit, AGENT.socket, upgraded ? 'restart' : 'start'), { sudo: true });
  return [
    ...(upgraded ? ['installed the agent'] : []),
    ...(reg.stdout.includes('registered') ? [`registered ${cfg.app} with the agent`] : []),
  ];
}
