// Asking a host's agent from the CLI, over SSH: its root-only unix socket, through curl (on every host set up).
import type { Host } from '../transport/host.ts';
import { AGENT } from '../server/layout.ts';
import type { Memory, PullMemory } from './memory.ts';

export interface AgentStatus {
  alive: boolean;
  version?: string;
  pid?: number;
  started?: string;
  apps?: Memory;
}

/** A request to the agent's socket, as root (pure); a body comes on stdin. */
const agentRequest = (method: 'GET' | 'POST' | 'PUT', pathAndQuery: string, withBody = false) => [
  'curl',
  '-sf',
  '--max-time',
  '5',
  '-X',
  method,
  ...(withBody ? ['--data-binary', '@-'] : []),
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

/** An action on one app; false where no agent answers. */
async function askForApp(h: Host, action: 'resume' | 'pull', app: string): Promise<boolean> {
  const request = agentRequest('POST', `/${action}?app=${encodeURIComponent(app)}`);
  return (await h.run(request, { sudo: true, reject: false })).exitCode === 0;
}

/** Let the host's agent heal the app again (after a flap stopped it). */
export const agentResume = (h: Host, app: string) => askForApp(h, 'resume', app);
/** Ask the host's agent to look at the app's pull source now. */
export const agentPull = (h: Host, app: string) => askForApp(h, 'pull', app);

/** The app's webhook on this host: its path and secret (null: none yet); undefined when the agent takes none. */
export async function agentWebhook(h: Host, app: string): Promise<{ path: string; secret: string | null } | undefined> {
  const r = await h.run(agentRequest('GET', `/webhook?app=${encodeURIComponent(app)}`), { sudo: true, reject: false });
  if (r.exitCode !== 0) return undefined;
  return JSON.parse(r.stdout) as { path: string; secret: string | null };
}

/** Give the host's agent the app's webhook secret (on stdin: never in a command line). */
export async function agentSetWebhook(h: Host, app: string, secret: string): Promise<boolean> {
  const request = agentRequest('PUT', `/webhook?app=${encodeURIComponent(app)}`, true);
  return (await h.run(request, { sudo: true, reject: false, input: secret })).exitCode === 0;
}

/** A one-time dashboard login link's token, from the host's agent; undefined when no agent answers. */
export async function agentLoginLink(
  h: Host,
  o: { who: string; role: 'admin' | 'read-only'; invite: boolean },
): Promise<{ token: string; expires_in: number } | undefined> {
  const q = new URLSearchParams({ who: o.who, role: o.role, ...(o.invite ? { invite: '1' } : {}) });
  const r = await h.run(agentRequest('POST', `/login-link?${q}`), { sudo: true, reject: false });
  if (r.exitCode !== 0) return undefined;
  return JSON.parse(r.stdout) as { token: string; expires_in: number };
}

/** The host's board: its apps as its agent observed them (what its dashboard shows); undefined without an agent. */
export async function agentBoard(h: Host): Promise<unknown[] | undefined> {
  const r = await h.run(agentRequest('GET', '/board'), { sudo: true, reject: false });
  if (r.exitCode !== 0) return undefined;
  return JSON.parse(r.stdout) as unknown[];
}

/** Give the host's agent the other hosts' boards, for its dashboard's grid across hosts (on stdin). */
export async function agentRelay(h: Host, peers: { host: string; seenAt: string }[]): Promise<boolean> {
  const r = await h.run(agentRequest('POST', '/peers', true), {
    sudo: true,
    reject: false,
    input: JSON.stringify(peers),
  });
  return r.exitCode === 0;
}

/** One line about the agent and this app, for `status` (pure). */
export function agentLine(a: AgentStatus, app: string): string {
  if (!a.alive) return 'agent: not running (slipway setup installs it; agent: false opts out)';
  const m = a.apps?.[app];
  const parts = [`agent: alive (${a.version}, pid ${a.pid}, since ${a.started})`];
  if (m?.lastHeal) parts.push(`last heal ${m.lastHeal.at}: ${m.lastHeal.did.join('; ')}`);
  if (m?.degraded) parts.push(`cannot heal: ${m.degraded.why} → ${m.degraded.fix}`);
  if (m?.pull) parts.push(pullLine(m.pull));
  return parts.join('; ');
}

/** What the source offers and why the agent deploys it or not (pure). */
export function pullLine(p: PullMemory): string {
  const offered = p.offered ? `offers ${p.offered}` : 'offers nothing yet';
  const problems = p.problems?.length ? ` (${p.problems.join('; ')})` : '';
  return `pull: ${offered}${problems}, ${p.next ?? 'not looked at yet'}${p.bad.length ? `, ${p.bad.length} bad` : ''}`;
}

export function agentLogsArgv(o: { lines: number; follow: boolean }): string[] {
  return ['journalctl', '--no-pager', '-u', AGENT.unit, '-n', String(o.lines), ...(o.follow ? ['-f'] : [])];
}
