// before_activate and after_activate: each role's commands, run as the app in the new
// release with the SLIPWAY_* variables; the first failure stops the deploy.
import os from 'node:os';
import { SlipwayError } from '../../errors.ts';
import type { Host } from '../../transport/host.ts';
import { servingPort } from '../activate.ts';
import { eachHost } from '../session.ts';
import type { DeployRun, Phase } from './phase.ts';

type When = 'before_activate' | 'after_activate';

function hooksPhase(when: When): Phase {
  return {
    name: when,
    scope: 'group',
    applies: (v) => v.role.hooks[when].length > 0,
    describe: ({ view }) =>
      view.role.hooks[when].map((command) => ({ step: 'hook', when, command, text: `Hook ${when}: ${command}` })),
    async run(r, hosts, tag) {
      const commands = new Set(hosts.flatMap((h) => r.s.on(h).cfg.hooks[when]));
      await r.s.events.step(`${tag}Hooks ${when}: ${[...commands].join('; ')}`, () =>
        eachHost(hosts, (h) => runHooksOn(r, h, when), r.s.cfg.rollout.concurrency),
      );
      if (when === 'before_activate') r.s.checkInterrupted();
    },
  };
}

export const beforeActivate = hooksPhase('before_activate');
export const afterActivate = hooksPhase('after_activate');

async function runHooksOn(r: DeployRun, h: Host, when: When): Promise<void> {
  const { s, release } = r;
  const l = s.layout;
  const vars = {
    SLIPWAY_APP: s.cfg.app,
    SLIPWAY_ENV: s.cfg.environment,
    SLIPWAY_ROLE: h.target.role,
    SLIPWAY_RELEASE: release.id,
    SLIPWAY_RELEASE_PATH: l.release(release.id),
    SLIPWAY_PREVIOUS_RELEASE: r.held.states.get(h)?.current ?? '',
    SLIPWAY_REVISION: release.sha ?? '',
    SLIPWAY_DEPLOYER: os.userInfo().username,
    SLIPWAY_HOST: h.name,
  };
  const { cfg: role, runtime } = s.on(h);
  const port = await servingPort(s, h);
  for (const command of role.hooks[when]) {
    const { argv, sudo } = runtime.execArgv(role, command, { cwd: l.release(release.id), env: vars, port });
    const out = await h.run(argv, { sudo, reject: false, onLine: s.events.output(h.name) });
    if (out.exitCode !== 0) {
      throw new SlipwayError('hook', `${h.name}: ${when} hook failed (exit ${out.exitCode}): ${command}`, {
        details:
          [out.stderr.trim(), out.stdout.trim()].filter(Boolean).join('\n').split('\n').slice(-30).join('\n') ||
          undefined,
        hint:
          when === 'before_activate'
            ? 'the new release was not activated; the previous one is still serving'
            : 'the previous release was restored',
      });
    }
  }
}
