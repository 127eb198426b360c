// What the docker runtime's tests share: an engine here, and a base image made without a registry.
import { execFileSync } from 'node:child_process';
import { testhostUnavailable } from './testhost.ts';

/** This machine's Debian root file system with Node.js, as an image: no registry needed. */
export const BASE = 'slipway-test-base:1';

/** Why the docker tests cannot run here, or undefined when they can. */
export function dockerUnavailable(): string | undefined {
  const why = testhostUnavailable();
  if (why) return why;
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' });
  } catch {
    return 'no Docker engine answers here (.ci/run starts dockerd)';
  }
  return undefined;
}

/** Make the base image here once (`docker import` of the testhosts' root file system). */
export function ensureBaseImage(): void {
  try {
    execFileSync('docker', ['image', 'inspect', BASE], { stdio: 'ignore' });
  } catch {
    execFileSync('sh', ['-c', `tar -C /var/cache/testhost/rootfs -c . | docker import - ${BASE}`], {
      stdio: 'ignore',
    });
  }
}
