// Webhooks: a subscriber of the run's lifecycle events. Each environment's URLs get a POST
// for every one, in order, as a JSON object or a Slack-compatible message. Each delivery is
// tried three times; a webhook that keeps failing is reported and never fails the deploy.
import os from 'node:os';
import type { ResolvedConfig } from '../config/load.ts';
import type { Events, LifecycleDetails as EventDetails, LifecycleEvent as NotifyEvent } from './events.ts';

export interface Webhooks {
  /** wait for the deliveries still under way (at most `capMs`), then stop listening */
  flush(capMs?: number): Promise<void>;
}

const ATTEMPTS = 3;
const TIMEOUT_MS = 5000;

export function payload(
  cfg: Pick<ResolvedConfig, 'app' | 'environment'>,
  format: 'json' | 'slack',
  event: NotifyEvent,
  d: EventDetails,
  at: Date,
  user: string,
): unknown {
  const body = { event, app: cfg.app, environment: cfg.environment, time: at.toISOString(), user, ...d };
  if (format === 'json') return body;
  const what: Record<NotifyEvent, string> = {
    started: 'deploy started',
    succeeded: 'deploy succeeded',
    failed: 'deploy failed',
    rolled_back: 'rolled back',
    waiting_for_approval: 'deploy waiting for approval',
    healed: 'healed by the agent',
    degraded: 'degraded: the agent cannot heal it',
  };
  const lines = [
    [
      `*${cfg.app}* ${cfg.environment}: ${what[event]}`,
      d.release && ` — ${d.release}`,
      d.hosts.length && ` on ${d.hosts.join(', ')}`,
      d.duration_ms !== undefined && ` (${(d.duration_ms / 1000).toFixed(1)}s)`,
    ]
      .filter(Boolean)
      .join(''),
  ];
  if (d.promoted_from) lines.push(`promoted from ${d.promoted_from}`);
  if (d.reason) lines.push(d.reason);
  if (d.did?.length) lines.push(`did: ${d.did.join('; ')}`);
  if (d.fix) lines.push(`fix: \`${d.fix}\``);
  if (d.approve) lines.push(`approve: \`${d.approve}\` · reject: \`${d.reject}\``);
  lines.push(`by ${user}`);
  return { text: lines.join('\n') };
}

/** Where a webhook goes, without its path and query (which often hold a token). */
export function webhookLabel(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'webhook';
  }
}

/** Deliver the run's lifecycle events to the environment's webhooks until `flush`. */
export function webhooks(cfg: Pick<ResolvedConfig, 'app' | 'environment' | 'webhooks'>, events: Events): Webhooks {
  const user = `${os.userInfo().username}@${os.hostname()}`;
  // one queue per webhook: its events arrive in order
  const queues = cfg.webhooks.map(() => Promise.resolve());
  // a webhook's URL often carries its token: never printed, even in a fetch error
  events.addSecrets(cfg.webhooks.map((h) => h.url));
  const unsubscribe = events.subscribe((e) => {
    if (e.type === 'lifecycle') send(e.event, e.details);
  });
  const send = (event: NotifyEvent, details: EventDetails) => {
    const at = new Date();
    cfg.webhooks.forEach((hook, i) => {
      const body = events.redactor.redactedJson(payload(cfg, hook.format, event, details, at, user));
      queues[i] = queues[i]!.then(() => deliver(hook.url, body)).then(
        () => undefined,
        (e: Error) =>
          events.warn(
            `webhook ${webhookLabel(hook.url)}: ${event} not delivered after ${ATTEMPTS} attempts ` +
              `(${events.redact(e.message)})`,
          ),
      );
    });
  };
  return {
    async flush(capMs = 20_000) {
      unsubscribe();
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), capMs)));
      const done = await Promise.race([Promise.all(queues).then(() => 'done' as const), cap]);
      clearTimeout(timer);
      if (done === 'late') events.warn('webhooks: still delivering; giving up so the command can end');
    },
  };
}

async function deliver(url: string, body: string): Promise<void> {
  let last: Error = new Error('not tried');
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'slipway' },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await r.arrayBuffer().catch(() => undefined);
      if (r.ok) return;
      last = new Error(`HTTP ${r.status}`);
    } catch (e) {
      last = e as Error;
    }
    if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
  }
  throw last;
}
