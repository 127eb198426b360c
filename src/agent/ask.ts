// Asking a host's agent from the CLI, over SSH: its root-only unix socket, through curl (on every host set up).
import type { Host } from '../transport/host.ts';
import { AGENT } from '../server/layout.ts';
import type { Memory } from './memory.ts';

export interface AgentStatus {
  alive: boolean;
  version?: string;
  pid?: number;
  started?: string;
  apps?: Memory;
}

/** A request to the agent's socket, as root (pure). */
const agentRequest = (method: 'GET' | 'POST', pathAndQuery: string) => [
  'curl',
  '-sf',
  '--max-time',
  '5',
  '-X',
  method,
  '--unix-socket',
  AGENT.socket,
  `http://agent${pathAndQuery}`,
];

export async function agentStatus(h: Host): Promise<AgentStatus> {
  const r = await h.run(agentRequest('GET', '/status'), { sudo: true, reject: false });
  if (r.exitCode !== 0) return { alive: false };
  try {
    return { alive: true, ...(JSON.parse(r.stdout) as Omit<AgentStatus, 'alive'>) };
  } catch {
    return { alive: false };
  }
}

/** Let the host's agent heal the app again (after a flap stopped it); false where no agent answers. */
export async function agentResume(h: Host, app: string): Promise<boolean> {
  const request = agentRequest('POST', `/resume?app=${encodeURIComponent(app)}`);
  return (await h.run(request, { sudo: true, reject: false })).exitCode === 0;
}

/** One line about the agent and this app, for `status` (pure). */
export function agentLine(a: AgentStatus, app: string): string {
  if (!a.alive) return 'agent: not running (slipway setup installs it; agent: false opts out)';
  const m = a.apps?.[app];
  const parts = [`agent: alive (${a.version}, pid ${a.pid}, since ${a.started})`];
  if (m?.lastHeal) parts.push(`last heal ${m.lastHeal.at}: ${m.lastHeal.did.join('; ')}`);
  if (m?.degraded) parts.push(`cannot heal: ${m.degraded.why} → ${m.degraded.fix}`);
  return parts.join('; ');
}

export function agentLogsArgv(o: { lines: number; follow: boolean }): string[] {
  return ['journalctl', '--no-pager', '-u', AGENT.unit, '-n', String(o.lines), ...(o.follow ? ['-f'] : [])];
}
