// A run's live feed: while a deploy, rollback, restart … holds (or waits for) the lock, its events go to each
// host's agent as JSON lines, through one more channel of the SSH connection already open, so the dashboard shows the
// run as it goes. Nothing waits on it: a host that does not take the feed changes nothing about the run.
import { PassThrough } from 'node:stream';
import { agentWanted } from '../agent/install.ts';
import { AGENT, sh } from '../server/layout.ts';
import type { LockInfo } from '../server/lock.ts';
import type { Host } from '../transport/host.ts';
import type { DeployEvent } from './events.ts';
import type { Session } from './session.ts';
import FEED from '../scripts/live-feed.sh';

/** What the feed's first line says about the run. */
export interface FeedStart {
  type: 'feed';
  token: string;
  command: string;
  user: string;
  machine: string;
  time: string;
}

/** An event as the feed carries it: its time added, texts redacted; undefined for what the feed leaves out. */
export function feedLine(e: DeployEvent, redact: (text: string) => string, at = Date.now()): string | undefined {
  if (e.type === 'command' || e.type === 'output') return undefined; // commands and build output stay on the terminal
  if (e.type === 'message') return JSON.stringify({ ...e, text: redact(e.text), at });
  if (e.type === 'phase' && e.state !== 'start' && e.note) return JSON.stringify({ ...e, note: redact(e.note), at });
  if (e.type === 'lifecycle' && e.details.reason)
    return JSON.stringify({ ...e, details: { ...e.details, reason: redact(e.details.reason) }, at });
  return JSON.stringify({ ...e, at });
}

/** argv appending stdin's lines to the run's feed on the host (root: the feeds are the agent's). */
export const feedArgv = (app: string, token: string) => sh(FEED, AGENT.live, app, `${token}.jsonl`);

/** How long the end of a run waits for a feed's last lines to be written: a slow host never holds up the run. */
const CLOSE_WAIT_MS = 2000;

export function openFeed(s: Session, info: LockInfo): { close(): Promise<void> } {
  const hosts = s.hosts.filter((h) => agentWanted(s.cfg, h));
  if (!hosts.length) return { close: async () => {} };
  const streams = hosts.map((h) => feedTo(h, s.cfg.app, info));
  const start: FeedStart = { type: 'feed', ...pick(info) };
  for (const f of streams) f.stream.write(`${JSON.stringify(start)}\n`);
  const unsubscribe = s.events.subscribe((e) => {
    const line = feedLine(e, (t) => s.events.redact(t));
    if (line) for (const f of streams) f.stream.write(`${line}\n`);
  });
  return {
    close: async () => {
      unsubscribe();
      for (const f of streams) f.stream.end();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_WAIT_MS);
      });
      await Promise.race([Promise.all(streams.map((f) => f.done)), late]);
      clearTimeout(timer);
    },
  };
}

function pick(info: LockInfo): Omit<FeedStart, 'type'> {
  return { token: info.token, command: info.command, user: info.user, machine: info.machine, time: info.time };
}

function feedTo(h: Host, app: string, info: LockInfo): { stream: PassThrough; done: Promise<unknown> } {
  const stream = new PassThrough();
  const done = h.run(feedArgv(app, info.token), { sudo: true, input: stream, reject: false }).catch(() => undefined);
  return { stream, done };
}
