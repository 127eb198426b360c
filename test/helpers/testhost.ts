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
  for (const cmd of ['unshare', 'nsenter', 'debootstrap', 'ssh', 'ssh-keyscan', 'ip', 'curl']) {
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
  /** where sshd listens: 127.0.0.1, or the host's own address when it has its own network */
  address: string;
  /** the folder with id, known_hosts and ssh_config */
  dir: string;
  sshConfig: string;
  exec(...argv: string[]): string;
  down(): void;
}

export function testhost(...args: string[]): string {
  return execFileSync(SCRIPT, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface BootOptions {
  /** 10.77.X.Y: the host gets its own network namespace (its own loopback and ports) at this address */
  address?: string;
  /** a cached package layer (test/helpers/testhost layer) the host starts with */
  layer?: { name: string; packages: string[] };
}

/** Hosts in their own network cannot reach the package archive: give them what `setup` would install. */
export const SERVER_LAYER = { name: 'server', packages: ['rsync', 'caddy', 'git', 'zstd'] };

export function bootHost(name: string, sshPort: number, opts: BootOptions = {}): TestHost {
  const address = opts.address ?? '127.0.0.1';
  const dir = mkdtempSync(path.join(os.tmpdir(), `slipway-${name}-`));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
  try {
    testhost('down', name);
  } catch {
    /* was not up */
  }
  if (opts.layer) testhost('layer', opts.layer.name, ...opts.layer.packages);
  execFileSync(
    SCRIPT,
    ['up', name, String(sshPort), path.join(dir, 'id.pub'), ...(opts.address ? [opts.address] : [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(opts.layer ? { TESTHOST_LAYER: opts.layer.name } : {}) },
    },
  );
  const hostKey = testhost('exec', name, 'cat', '/etc/ssh/ssh_host_ed25519_key.pub')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `${sshPort === 22 ? address : `[${address}]:${sshPort}`} ${hostKey}\n`);
  const sshConfig = path.join(dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    `Host ${name}\n  HostName ${address}\n  Port ${sshPort}\n  User root\n  IdentityFile ${dir}/id\n  ` +
      `IdentitiesOnly yes\n  UserKnownHostsFile ${dir}/known_hosts\n  GlobalKnownHostsFile /dev/null\n`,
  );
  return {
    name,
    sshPort,
    address,
    dir,
    sshConfig,
    exec: (...argv) => testhost('exec', name, ...argv),
    down: () => testhost('down', name),
  };
}
