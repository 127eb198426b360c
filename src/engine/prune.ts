// Keep the newest `keep_releases` releases; never the current one or the one before it.
import { imageTag } from '../runtime/docker.ts';
import { removeReleases } from '../server/release.ts';
import { planPrune, readState } from '../server/state.ts';
import { eachHost, type Session } from './session.ts';

export async function prune(s: Session, opts: { quiet?: boolean } = {}): Promise<Record<string, string[]>> {
  const removed = await eachHost(s.hosts, async (h) => {
    const state = await readState(h, s.layout);
    const ids = planPrune(state, s.cfg.keep_releases);
    await removeReleases(h, s.layout, ids, state.manifests);
    // their images go with them; images of kept releases stay for rollbacks
    if (s.cfg.runtime === 'docker' && ids.length) await h.run(['docker', 'image', 'rm', ...ids.map((id) => imageTag(s.cfg.app, id))], { sudo: true, reject: false });
    return [h.name, ids] as const;
  });
  const total = removed.reduce((n, [, ids]) => n + ids.length, 0);
  if (!opts.quiet || total) s.reporter.info(total ? `Pruned ${total} old release(s): ${[...new Set(removed.flatMap(([, ids]) => ids))].join(', ')}` : 'Nothing to prune');
  return Object.fromEntries(removed);
}
