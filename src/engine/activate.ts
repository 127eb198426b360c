// Going live, shared by deploy, rollback and the automatic restore: switch
// `current`, restart, check health. One path, so a rollback is exactly a deploy
// of an older release without the transfer.
import { SlipwayError, tail } from '../errors.ts';
import { checkHealth, switchCurrent } from '../server/release.ts';
import { sh } from '../server/layout.ts';
import type { Host } from '../transport/host.ts';
import type { Session } from './session.ts';

export async function activate(s: Session, host: Host, id: string): Promise<{ ok: boolean; report: string }> {
  await switchCurrent(host, s.layout, id);
  await s.runtime.restart(host, s.cfg);
  return checkHealth(host, s.cfg.health, s.cfg.port, s.layout.release(id));
}

/** Put the previous release back (or, on a first deploy, stop the app and remove `current`). */
export async function restore(s: Session, host: Host, previous: string | undefined): Promise<string> {
  if (!previous) {
    await s.runtime.stop(host, s.cfg);
    await host.run(sh('rm -f "$1"', s.layout.current));
    return 'no previous release: app stopped';
  }
  const r = await activate(s, host, previous);
  return r.ok ? `${previous} is serving again` : `${previous} restored but failing its health check too: ${r.report}`;
}

/** The app's last log lines, for failure messages. */
export async function recentLogs(s: Session, host: Host, lines = 20): Promise<string> {
  const r = await host.run(s.runtime.logsArgv(s.cfg, { lines, follow: false }), { reject: false, sudo: s.cfg.runtime === 'systemd' });
  return tail(r.stdout || r.stderr, lines);
}

export function healthError(host: Host, id: string, report: string, logs: string, restored: string): SlipwayError {
  return new SlipwayError('health', `${host.name}: release ${id} failed its health check; ${restored}`, {
    details: `health check: ${report}\n--- last app log lines ---\n${logs || '(no output)'}`,
    hint: 'fix the app (see the log above), commit, and deploy again; `slipway logs <env>` shows more',
  });
}
