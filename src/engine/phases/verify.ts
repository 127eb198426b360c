// The verification window: after going live, keep checking; a failure restores the previous
// release and marks this one bad.
import { verifyWindow } from '../guardrails.ts';
import type { Phase } from './phase.ts';

export const verify: Phase = {
  name: 'verify',
  scope: 'group',
  applies: (v) => v.env.verify.duration > 0,
  describe: ({ s, state }) => {
    const v = s.cfg.verify;
    const command = v.command ? ` with \`${v.command}\`` : '';
    const rate = v.error_rate ? ` and error rate ≤ ${v.error_rate.max}` : '';
    return [
      {
        step: 'verify',
        seconds: v.duration,
        text:
          `Verify for ${v.duration}s${command}${rate}; ` +
          `a failure restores ${state.current ?? 'nothing'} and marks the release bad`,
      },
    ];
  },
  async run(r, hosts, tag) {
    await verifyWindow(r.s, hosts, tag, r.release.id);
    r.guard.pass([`verified for ${r.s.cfg.verify.duration}s`]);
  },
};
