// Real Debian 12 hosts with systemd and sshd on loopback (test/helpers/testhost).
// Each host gets a fresh client key, its host key pinned in a known_hosts file
// read off the host itself, and an ssh_config alias, all in a temp folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testhost');

/** Why testhosts cannot run here, or undefined when they can. */
export function testhostUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'testhosts need Linux (namespaces and systemd)';
  if (process.getuid?.() !== 0) return 'testhosts need root (run the suite as root, as CI does)';
  for (const cmd of ['unshare', 'nsenter', 'debootstrap', 'ssh', 'ssh-keyscan', 'rsync', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' });
    } catch {
      return `testhosts need ${cmd} (see .ci/run for the packages)`;
    }
  }
  return undefined;
}

export interface TestHost {
  name: string;
  sshPort: number;
  /** the folder with id, known_hosts and ssh_config */
  dir: string;
  sshConfig: string;
  exec(...argv: string[]): string;
  down(): void;
}

export function testhost(...args: string[]): string {
  return execFileSync(SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function bootHost(name: string, sshPort: number): TestHost {
  const dir = mkdtempSync(path.join(os.tmpdir(), `slipway-${name}-`));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
  try {
    testhost('down', name);
  } catch {
    /* was not up */
  }
  testhost('up', name, String(sshPort), path.join(dir, 'id.pub'));
  const hostKey = testhost('exec', name, 'cat', '/etc/ssh/ssh_host_ed25519_key.pub').trim().split(/\s+/).slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${sshPort} ${hostKey}\n`);
  const sshConfig = path.join(dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    `Host ${name}\n  HostName 127.0.0.1\n  Port ${sshPort}\n  User root\n  IdentityFile ${dir}/id\n  IdentitiesOnly yes\n  UserKnownHostsFile ${dir}/known_hosts\n  GlobalKnownHostsFile /dev/null\n`,
  );
  return {
    name,
    sshPort,
    dir,
    sshConfig,
    exec: (...argv) => testhost('exec', name, ...argv),
    down: () => testhost('down', name),
  };
}
