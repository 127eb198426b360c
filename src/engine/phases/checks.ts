// The `on: host` checks, on every host before anything is sent.
import { runHostChecks } from '../guardrails.ts';
import type { Phase } from './phase.ts';

export const checks: Phase = {
  name: 'checks',
  scope: 'all',
  applies: (v) => v.env.checks.some((c) => c.on === 'host'),
  describe: ({ s }) =>
    s.cfg.checks
      .filter((c) => c.on === 'host')
      .map((c) => ({ step: 'check', on: 'host', command: c.run, text: `Check: ${c.run}` })),
  async run(r) {
    r.guard.pass(await runHostChecks(r.s));
  },
};
