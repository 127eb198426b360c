// The tools slipway is measured against, each set up on the same hosts for the
// same app, each ending when its health check answers (as slipway's deploy does):
//   rsync:  the source article's script: `rsync -chaz` into one folder, then
//           `systemctl restart` over ssh (hosts in parallel, as `&` in a script would);
//   git:    `git push` to a bare repository on each host, then `git pull` there + restart;
//   shipit: shipit-deploy from npm (clone, rsync into a new release, symlink), + restart.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TestHost } from '../test/helpers/testhost.ts';

/** slipway-cold: slipway with its SSH master closed before each run (a handshake, as the baselines pay) */
export type Tool = 'slipway' | 'slipway-cold' | 'rsync' | 'git' | 'shipit';
export type Baseline = Exclude<Tool, 'slipway' | 'slipway-cold'>;

export const PORTS: Record<Baseline, number> = { rsync: 3001, git: 3002, shipit: 3003 };
const DIRS: Record<Baseline, string> = { rsync: '/srv/rsync/app', git: '/srv/git/app', shipit: '/srv/shipit/current' };

/** Units for the baselines' copies of the app (slipway's own is made by `slipway setup`). */
export function installUnits(h: TestHost): void {
  h.exec('sh', '-c', 'printf "%s" "$1" > /usr/local/bin/bench-wait && chmod +x /usr/local/bin/bench-wait', 'sh', WAIT);
  for (const tool of ['rsync', 'git', 'shipit'] as const) {
    const unit =
      `[Service]\nWorkingDirectory=${DIRS[tool]}\nExecStart=/usr/bin/node ` +
      `server.js\nEnvironment=PORT=${PORTS[tool]}\n`;
    h.exec(
      'sh',
      '-c',
      `mkdir -p /srv/${tool} && printf '%s' "$1" > /etc/systemd/system/bench-${tool}.service && systemctl ` +
        `daemon-reload`,
      'sh',
      unit,
    );
  }
}

/**
 * Waiting for the health check (every 20 ms, as slipway's first polls; 30 s at most): what every tool's timing
 * includes.
 */
const WAIT = `#!/bin/sh
i=0
until curl -fs -o /dev/null "http://127.0.0.1:$1/health"; do i=$((i+1)); [ $i -lt 1500 ] || exit 1; sleep 0.02; done
`;
const restart = (tool: Baseline) => `systemctl restart bench-${tool} && bench-wait ${PORTS[tool]}`;

/** The article's script, for each host at once. */
export function rsyncScript(dir: string): string {
  const file = path.join(dir, 'rsync-restart.sh');
  writeFileSync(
    file,
    `#!/bin/bash
# usage: SRC=dir SSH_CONFIG=file INSTALL=0|1 rsync-restart.sh HOST...
set -e
one() {
  rsync -chaz --delete --exclude .git -e "ssh -F $SSH_CONFIG" "$SRC/" "$1:${DIRS.rsync}/"
  ssh -F "$SSH_CONFIG" "$1" "cd ${DIRS.rsync} && { [ \\"$INSTALL\\" != 1 ] || sh install.sh; } && ${restart('rsync')}"
}
for h in "$@"; do one "$h" & done
for job in $(jobs -p); do wait "$job"; done
`,
  );
  return file;
}

/** git push to the host, git pull there, restart. */
export function gitScript(dir: string): string {
  const file = path.join(dir, 'git-pull.sh');
  writeFileSync(
    file,
    `#!/bin/bash
# usage: REPO=dir SSH_CONFIG=file INSTALL=0|1 MODE=deploy|rollback|first git-pull.sh HOST...
set -e
one() {
  if [ "$MODE" = first ]; then
    ssh -F "$SSH_CONFIG" "$1" "rm -rf ${DIRS.git} /srv/git/app.git && git init -q --bare -b main /srv/git/app.git"
  fi
  if [ "$MODE" != rollback ]; then
    GIT_SSH_COMMAND="ssh -F $SSH_CONFIG" git -C "$REPO" push -q -f "$1:/srv/git/app.git" HEAD:refs/heads/main
  fi
  case "$MODE" in
    first) update="git clone -q /srv/git/app.git ${DIRS.git} && cd ${DIRS.git}" ;;
    rollback) update="cd ${DIRS.git} && git reset -q --hard HEAD~1" ;;
    *) update="cd ${DIRS.git} && git pull -q --ff-only origin main" ;;
  esac
  ssh -F "$SSH_CONFIG" "$1" "$update && { [ \\"$INSTALL\\" != 1 ] || sh install.sh; } && ${restart('git')}"
}
for h in "$@"; do one "$h" & done
for job in $(jobs -p); do wait "$job"; done
`,
  );
  return file;
}

/** A shipitfile for shipit-deploy: clone the fixture's repository, ship, publish, restart. */
export function shipitfile(dir: string, repo: string, hosts: TestHost[]): string {
  const file = path.join(dir, 'shipitfile.js');
  const servers = hosts.map((h) => ({
    user: 'root',
    host: h.address,
    port: h.sshPort,
    extraSshOptions: {
      IdentityFile: path.join(h.dir, 'id'),
      IdentitiesOnly: 'yes',
      UserKnownHostsFile: path.join(h.dir, 'known_hosts'),
      GlobalKnownHostsFile: '/dev/null',
    },
  }));
  writeFileSync(
    file,
    `module.exports = (shipit) => {
  require(${JSON.stringify(createRequire(import.meta.url).resolve('shipit-deploy'))})(shipit);
  shipit.initConfig({
    default: {
      deployTo: '/srv/shipit', repositoryUrl: ${JSON.stringify(repo)}, branch: 'main',
      ignores: ['.git'], keepReleases: 5, shallowClone: true,
    },
    bench: { servers: ${JSON.stringify(servers)} },
  });
  shipit.blTask('install', () => shipit.remote('cd /srv/shipit/current && sh install.sh'));
  shipit.blTask('restart', () => shipit.remote(${JSON.stringify(restart('shipit'))}));
};
`,
  );
  return file;
}
