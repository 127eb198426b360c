// The approval gate: asked once per deploy, before the first group runs a hook or goes live.
import type { Phase } from './phase.ts';

export const approval: Phase = {
  name: 'approval',
  scope: 'group',
  applies: (v) => v.env.approval.required,
  describe: ({ s }) => [
    { step: 'approval', text: `Approval: waits for slipway approve (up to ${s.cfg.approval.timeout}s)` },
  ],
  run: (r) => r.approve(),
};
