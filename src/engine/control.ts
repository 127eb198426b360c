// restart, stop and maintenance: each under the deploy lock, on every host.
import { SlipwayError } from '../errors.ts';
import { isProxied, setMaintenance } from '../proxy/caddy.ts';
import { activate, healthError, recentLogs } from './activate.ts';
import { eachHost, withLock, type Session } from './session.ts';

/** Restart the current release; behind Caddy it starts on the idle slot first, so no request is dropped. */
export function restart(s: Session, command: string): Promise<void> {
  return withLock(s, command, undefined, ({ states }) =>
    s.events.step(
      s.cfg.proxy ? 'Start on the idle slot, health check, switch' : 'Restart, health check',
      async () => {
        await eachHost(s.hosts, async (h) => {
          const { current } = states.get(h)!;
          if (!current)
            throw new SlipwayError('failure', `${h.name}: nothing deployed yet`, {
              hint: `run: slipway deploy ${s.cfg.environment}`,
            });
          const r = await activate(s, h, current, undefined, { restart: true });
          if (!r.ok)
            throw healthError(h, current, r, await recentLogs(s, h), 'the app is not healthy after the restart');
        });
      },
      'activate',
    ),
  );
}

export function stop(s: Session, command: string): Promise<void> {
  return withLock(s, command, undefined, () =>
    s.events.step('Stop', () => eachHost(s.hosts, (h) => s.on(h).runtime.stop(h, s.on(h).cfg)).then(() => undefined)),
  );
}

/** Answer every request with 503 and a page (on), or serve the app again (off). */
export function maintenance(s: Session, on: boolean, message: string, command: string): Promise<void> {
  const { cfg } = s;
  if (!isProxied(cfg)) {
    throw new SlipwayError('config', `${cfg.file}: maintenance mode needs the proxy`, {
      hint: 'add a `proxy:` section (Caddy serves the maintenance page)',
    });
  }
  return withLock(s, command, undefined, () =>
    s.events.step(on ? 'Maintenance page on' : 'Maintenance page off', () =>
      eachHost(s.hosts, (h) => setMaintenance(h, s.on(h).cfg as typeof cfg, on, message)).then(() => undefined),
    ),
  );
}
