// Entry point of the bundled agent (dist/agent.mjs), on the hosts:
//   node agent.mjs run            the agent itself, run by slipway-agent.service as root (./daemon.ts)
//   node agent.mjs pre-receive    a `git push` repository's hook, as the user who pushes (./push-hook.ts)
import { webcrypto } from 'node:crypto';

// Node 18 (Debian 12's) has Web Crypto only as node:crypto's webcrypto; the passkey checks look for it on globalThis
globalThis.crypto ??= webcrypto as typeof globalThis.crypto;
const command = process.argv[2];
if (command === 'run') await import('./daemon.ts');
else if (command === 'pre-receive') {
  // a pusher who hangs up does not stop a deploy under way
  for (const signal of ['SIGHUP', 'SIGPIPE'] as const) process.on(signal, () => undefined);
  process.exitCode = await (await import('./push-hook.ts')).preReceive();
} else {
  process.stderr.write('usage: agent.mjs run | pre-receive\n');
  process.exitCode = 2;
}
