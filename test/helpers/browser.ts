// Debian's Chromium driven by playwright-core, headless, as root, with none of Chromium's own network traffic (this
// machine reaches only loopback and its test hosts).
import { chromium, type Browser } from 'playwright-core';
import { freePort } from '../../src/transport/local.ts';
import { slipway, within } from './env.ts';

export const CHROMIUM = process.env.SLIPWAY_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** `slipway dashboard ENV --no-open` in the app's folder: the running tunnel, what it printed, and its login link. */
export async function openDashboard(app: string, env = 'production') {
  const port = await freePort();
  const tunnel = slipway(app, ['dashboard', env, '--no-open', '--port', String(port)]);
  let printed = '';
  tunnel.stdout!.on('data', (c: Buffer) => {
    printed += c.toString();
  });
  await within(20_000, () => /\/login\?token=/.test(printed));
  return { tunnel, printed, base: `http://127.0.0.1:${port}`, link: printed.match(/http:\/\/\S+/)![0] };
}
