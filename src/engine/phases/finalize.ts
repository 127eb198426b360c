// The release made whole on the host: shared links, the env file, the runtime's own config.
import type { ResolvedConfig } from '../../config/load.ts';
import { envFileContent } from '../../server/env-file.ts';
import { ensureSharedDirs, finalizeRelease, writeEnvFile } from '../../server/release.ts';
import { manifestFor } from '../deps.ts';
import { eachHost } from '../session.ts';
import { always, type Phase, type PlanHost, type PlanStep } from './phase.ts';

export const finalize: Phase = {
  name: 'finalize',
  scope: 'group',
  applies: always,
  describe,
  async run(r, hosts, tag) {
    const { s, release } = r;
    const l = s.layout;
    await s.events.step(`${tag}Finalize release`, () =>
      eachHost(
        hosts,
        async (h) => {
          const { cfg: role, runtime } = s.on(h);
          const owner = runtime.appUser(role, h);
          const digest = manifestFor(release, r.held.states.get(h)!.platform).digest;
          const vars = { ...r.envVars, ...roleEnv(role) };
          // independent of each other: one round trip's time instead of four
          await Promise.all([
            ensureSharedDirs(h, l, s.cfg.shared.dirs, owner).then(() =>
              finalizeRelease(h, l, release.id, digest, s.cfg.shared, release.sha ?? release.id, r.replacing.has(h)),
            ),
            writeEnvFile(h, l.envFile, envFileContent(vars), owner),
            runtime.writeEnv?.(h, role, vars),
            runtime.configure(h, role).then((changed) => changed && r.configured.add(h)),
          ]);
        },
        s.cfg.rollout.concurrency,
      ),
    );
    s.checkInterrupted();
  },
};

/** A role's own env vars (the environment's are already in the shared set). */
function roleEnv(role: ResolvedConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(role.env).map(([k, v]) => [k, String(v)]));
}

async function describe({ h, here, view }: PlanHost): Promise<PlanStep[]> {
  const { role, runtime } = view;
  const shared = [...role.shared.dirs, ...role.shared.files].map((p) => `shared/${p}`);
  const vars = Object.keys(role.env).length;
  const secretCount = new Set([...here.secrets, ...role.secrets]).size;
  const steps: PlanStep[] = [
    {
      step: 'finalize',
      shared,
      variables: vars,
      secrets: secretCount,
      text:
        `Finalize: ${shared.join(', ') || 'no shared paths'}; ` +
        `env file with ${vars} variable(s) and ${secretCount} secret(s), mode 0400`,
    },
  ];
  const configure = await runtime.describeConfigure?.(h, role);
  if (configure) steps.push({ step: 'configure', text: configure });
  return steps;
}
