// The services the app needs beside it (a database, a cache from a compose file): started before the release
// goes live, so its migrations and its first requests find them, and left running when unchanged.
import { eachHost } from '../session.ts';
import type { Phase } from './phase.ts';

export const accessories: Phase = {
  name: 'accessories',
  scope: 'group',
  applies: (v) => (v.runtime.accessories?.(v.env).length ?? 0) > 0,
  describe: ({ view }) => {
    const names = view.runtime.accessories!(view.env);
    return [
      {
        step: 'accessories',
        accessories: names,
        text: `Accessories: ${names.join(', ')} started, or left running when unchanged`,
      },
    ];
  },
  async run(r, hosts, tag) {
    const { s, release } = r;
    const names = s.runtime.accessories!(s.cfg);
    await s.events.step(`${tag}Accessories: ${names.join(', ')}`, async () => {
      await eachHost(
        hosts,
        (h) => s.runtime.startAccessories!(h, s.cfg, s.layout.release(release.id), names, s.events.output(h.name)),
        s.cfg.rollout.concurrency,
      );
    });
  },
};
