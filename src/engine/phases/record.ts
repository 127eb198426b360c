// The end of a deploy, in one round trip per host: the success record (for the last group;
// earlier groups were recorded as they finished), what the host should run, the pruning of
// old releases, the staging of the next deploy's tree, and the unlock.
import { stageArgv } from '../../release/transfer.ts';
import { desiredArgv, nextDesired } from '../../server/desired.ts';
import { historyAppend, type HistoryRecord, historyRecord } from '../../server/history.ts';
import { andThen } from '../../server/layout.ts';
import { removeReleasesArgv } from '../../server/release.ts';
import { afterDeploy, planPrune } from '../../server/state.ts';
import type { Host } from '../../transport/host.ts';
import { manifestFor } from '../deps.ts';
import { removeImages, reportPruned } from '../prune.ts';
import { eachHost } from '../session.ts';
import { always, type DeployRun, type Phase } from './phase.ts';

export const record: Phase = {
  name: 'record',
  scope: 'all',
  applies: always,
  describe: ({ s, h, state }) => {
    const cfg = s.cfg;
    const succeeded = historyRecord(cfg, h.name, 'succeeded', { release: 'NEW', user: '', machine: '' });
    const pruned = planPrune(afterDeploy(state, 'NEW', succeeded), cfg.keep_releases);
    const prune = pruned.length ? `prune ${pruned.join(', ')}` : 'nothing to prune';
    return [{ step: 'record', prune: pruned, text: `Record, ${prune}, unlock` }];
  },
  async run(r, hosts) {
    const { s } = r;
    const pruned = await s.events.step('Record, prune, unlock', () =>
      eachHost(hosts, (h) => finish(r, h), s.cfg.rollout.concurrency),
    );
    reportPruned(s, pruned, true);
  },
};

/** The success of the deploy's last group so far: recorded when it is done, before the next group starts. */
export function succeededOf(r: DeployRun, h: Host): HistoryRecord {
  return r.recordOf(h, 'succeeded', {
    duration_ms: Date.now() - r.began,
    ...(r.guard.passed.length ? { guardrails: r.guard.passed } : {}),
  });
}

async function finish(r: DeployRun, h: Host): Promise<readonly [string, string[]]> {
  const { s, release, held } = r;
  const l = s.layout;
  const state = held.states.get(h)!;
  const succeeded = succeededOf(r, h);
  const ids = planPrune(afterDeploy(state, release.id, succeeded), s.cfg.keep_releases);
  // hosts of earlier groups have their success recorded already
  const history = r.recordedHosts.has(h) ? undefined : historyAppend(l, succeeded);
  const manifest = `${release.id}.${manifestFor(release, state.platform).digest}`;
  const desired = nextDesired(s.on(h).cfg, state, { id: release.id, manifest }, { ...held.info, command: r.command });
  const steps = [
    ...(history ? [history.argv] : []),
    desiredArgv(l, desired),
    ...(ids.length ? [removeReleasesArgv(l, ids, state.manifests)] : []),
    stageArgv(l, release.id, manifest),
  ];
  await held.finish(
    h,
    steps.reduce((a, b) => andThen(a, b)),
    history?.input,
  );
  if (history) s.events.recorded(h.name, succeeded);
  r.activated.delete(h);
  await removeImages(s, h, ids);
  return [h.name, ids] as const;
}
