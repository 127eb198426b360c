// wait_for: conditions polled on each host of the group before it goes live.
import { describeCondition, waitForConditions } from '../guardrails.ts';
import type { Phase } from './phase.ts';

export const waitFor: Phase = {
  name: 'wait_for',
  scope: 'group',
  applies: (v) => v.env.wait_for.length > 0,
  describe: ({ s }) =>
    s.cfg.wait_for.map((w) => ({ step: 'wait_for', text: `Wait for ${describeCondition(w)} (up to ${w.timeout}s)` })),
  async run(r, hosts, tag) {
    r.guard.pass(await waitForConditions(r.s, hosts, tag, r.s.layout.release(r.release.id)));
    r.s.checkInterrupted();
  },
};
