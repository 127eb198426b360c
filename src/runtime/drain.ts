// A slot's delayed stop while it drains, on a systemd host: a transient timer
// unit `slipway-<app>-drain-<slot>` that runs the runtime's stop command.
import type { Slot } from './slots.ts';
import { script, sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import CANCEL from '../scripts/drain-cancel.sh';
import SCHEDULE_BODY from '../scripts/drain-schedule.sh';

function drainUnit(app: string, slot: Slot): string {
  return `slipway-${app}-drain-${slot}`;
}

// $1 drain unit: forget a pending stop

// $1 drain unit, $2 delay, then the stop command
const SCHEDULE = script({}, CANCEL, SCHEDULE_BODY);

export async function cancelDrain(host: Host, app: string, slot: Slot): Promise<void> {
  await host.run(sh(CANCEL, drainUnit(app, slot)), { sudo: true });
}

/** Run `stop` on the host after `seconds`, unless cancelDrain comes first. */
export async function scheduleDrain(
  host: Host,
  app: string,
  slot: Slot,
  seconds: number,
  stop: string[],
): Promise<void> {
  await host.run(sh(SCHEDULE, drainUnit(app, slot), `${Math.ceil(seconds)}s`, ...stop), { sudo: true });
}
