// Keep the newest `keep_releases` releases; never the current one or the one before it.
import { removeReleasesArgv } from '../server/release.ts';
import { planPrune } from '../server/state.ts';
import type { Host } from '../transport/host.ts';
import { eachHost, withLock, type Session } from './session.ts';

export async function prune(
  s: Session,
  command: string,
  opts: { quiet?: boolean; lockWait?: number } = {},
): Promise<Record<string, string[]>> {
  // under the deploy lock: a deploy running meanwhile may be about to switch to a release pruning would pick
  const removed = await withLock(s, command, opts.lockWait, (held) =>
    eachHost(s.hosts, async (h) => {
      const state = held.states.get(h)!;
      const ids = planPrune(state, s.cfg.keep_releases);
      await held.finish(h, ids.length ? removeReleasesArgv(s.layout, ids, state.manifests) : ['true']);
      await removeImages(s, h, ids);
      return [h.name, ids] as const;
    }),
  );
  reportPruned(s, removed, opts.quiet);
  return Object.fromEntries(removed);
}

/** What the runtime keeps per release (a docker image) goes with the release. */
export async function removeImages(s: Session, h: Host, ids: string[]): Promise<void> {
  const { runtime, cfg } = s.on(h);
  await runtime.pruneReleases?.(h, cfg, ids);
}

export function reportPruned(s: Session, removed: (readonly [string, string[]])[], quiet = false): void {
  const total = removed.reduce((n, [, ids]) => n + ids.length, 0);
  if (!quiet || total)
    s.events.info(
      total
        ? `Pruned ${total} old release(s): ${[...new Set(removed.flatMap(([, ids]) => ids))].join(', ')}`
        : 'Nothing to prune',
    );
}
