// `install.command` in the new release on each host, or reused from the install cache when
// the lockfile is unchanged; hosts that got the dependencies built here have nothing to do.
import { install as runInstall } from '../../server/release.ts';
import { eachHost } from '../session.ts';
import type { Phase, PlanHost, PlanStep } from './phase.ts';

export const install: Phase = {
  name: 'install',
  scope: 'group',
  applies: (v) => !!v.role.install.command && !v.receivesDeps,
  describe,
  async run(r, hosts, tag) {
    const { s, release } = r;
    const cfg = s.cfg;
    await s.events.step(`${tag}Install: ${cfg.install.command}`, async (c) => {
      const how = await eachHost(
        hosts,
        (h) =>
          runInstall(
            h,
            s.layout,
            s.layout.release(release.id),
            { ...cfg.install, command: cfg.install.command!, key: release.installKey },
            s.events.output(h.name),
          ),
        cfg.rollout.concurrency,
      );
      const on = release.deps ? ` on ${hosts.map((h) => h.name).join(', ')} (another platform than this machine)` : '';
      c.done(`${how.every((x) => x === 'cached') ? 'unchanged lockfile: reused' : 'installed'}${on}`);
    });
  },
};

async function describe({ s, h, here, view }: PlanHost): Promise<PlanStep[]> {
  const command = view.role.install.command!;
  const { exitCode } = here.key
    ? await h.run(['test', '-d', `${s.layout.installCache}/${here.key}`], { reject: false })
    : { exitCode: 1 };
  const how = exitCode === 0 ? 'unchanged lockfile: reused from the cache' : 'runs';
  return [{ step: 'install', on: 'host', command, cached: exitCode === 0, text: `Install: ${command} (${how})` }];
}
