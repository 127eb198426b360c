// Going live: the switch, the restart and the health check (blue/green behind Caddy).
import type { ResolvedConfig } from '../../config/load.ts';
import { isProxied } from '../../proxy/caddy.ts';
import { activate as goLive, healthError, recentLogs } from '../activate.ts';
import { eachHost } from '../session.ts';
import { always, type Phase, type PlanStep } from './phase.ts';

export const activate: Phase = {
  name: 'activate',
  scope: 'group',
  applies: always,
  describe: ({ view }) => [describe(view.role)],
  async run(r, hosts, tag) {
    const { s, release } = r;
    await s.events.step(`${tag}${s.cfg.proxy ? 'Start, health check, switch' : 'Switch, restart, health check'}`, () =>
      eachHost(
        hosts,
        async (h) => {
          const a = await goLive(s, h, release.id, () => r.activated.add(h));
          if (!a.ok) throw healthError(h, release.id, a, await recentLogs(s, h), 'restoring the previous release');
        },
        s.cfg.rollout.concurrency,
      ),
    );
  },
};

function describe(role: ResolvedConfig): PlanStep {
  const check = role.health.command ? `\`${role.health.command}\`` : role.health.path;
  if (isProxied(role))
    return {
      step: 'activate',
      slots: true,
      text:
        `Start on the idle slot, health check ${check}, switch Caddy, ` +
        `drain the old slot (${role.proxy.drain_timeout}s)`,
    };
  const where = role.health.command ? '' : ` on port ${role.port}`;
  return {
    step: 'activate',
    slots: false,
    text: `Switch current, restart, health check ${check}${where} (up to ${role.health.timeout}s)`,
  };
}
