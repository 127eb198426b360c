// The deploy flow, as the list both `deploy` and `plan` walk. Phases of scope `all` before
// the first group phase run once for every host first; those after the last run at the end.
import { accessories } from './accessories.ts';
import { activate } from './activate.ts';
import { approval } from './approval.ts';
import { checks } from './checks.ts';
import { finalize } from './finalize.ts';
import { afterActivate, beforeActivate } from './hooks.ts';
import { image, imageBuild } from './image.ts';
import { install } from './install.ts';
import type { Phase } from './phase.ts';
import { record } from './record.ts';
import { transfer } from './transfer.ts';
import { verify } from './verify.ts';
import { waitFor } from './wait-for.ts';

export const DEPLOY_PHASES: readonly Phase[] = [
  checks,
  imageBuild,
  transfer,
  finalize,
  install,
  image,
  approval,
  accessories,
  beforeActivate,
  waitFor,
  activate,
  afterActivate,
  verify,
  record,
];

/** The flow cut where it goes group by group: [before, per group, after]. */
export function byScope(phases: readonly Phase[]): [Phase[], Phase[], Phase[]] {
  const first = phases.findIndex((p) => p.scope === 'group');
  const last = phases.length - 1 - [...phases].reverse().findIndex((p) => p.scope === 'group');
  return [phases.slice(0, first), phases.slice(first, last + 1), phases.slice(last + 1)];
}
