// A static site is checked before it goes live: the page its health check asks for must be a
// file of the new release (run for real in a temporary folder through the local host).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ResolvedConfig } from '../../src/config/load.ts';
import { staticRuntime } from '../../src/runtime/static.ts';
import { LocalHost } from '../../src/transport/local.ts';

describe('static preflight', () => {
  const release = mkdtempSync(path.join(os.tmpdir(), 'slipway-static-'));
  after(() => rmSync(release, { recursive: true, force: true }));
  mkdirSync(path.join(release, 'dist/docs'), { recursive: true });
  writeFileSync(path.join(release, 'dist/index.html'), 'home\n');
  writeFileSync(path.join(release, 'dist/docs/index.html'), 'docs\n');
  writeFileSync(path.join(release, 'dist/café.html'), 'menu\n');
  const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
  const check = (healthPath: string, command?: string, spa = false) =>
    staticRuntime.preflight!(
      host,
      { static_dir: 'dist', spa, health: { path: healthPath, command } } as unknown as ResolvedConfig,
      release,
    );

  it('passes when the page is there: a file, a folder with index.html, a percent-encoded name', async () => {
    for (const p of ['/', '/index.html', '/docs/', '/docs', '/caf%C3%A9.html', '/index.html?v=2'])
      assert.equal(await check(p), undefined, p);
  });

  it("a single-page app's route is answered by its /index.html, which must be there", async () => {
    assert.equal(await check('/account/settings', undefined, true), undefined);
    assert.equal(
      await check('/account/settings'),
      '/account/settings is not a file of the release (no ' + '/account/settings): it was never served',
    );
  });

  it('refuses a release without the page, saying which file is missing', async () => {
    assert.equal(
      await check('/missing.html'),
      '/missing.html is not a file of the release (no /missing.html): it was never served',
    );
    rmSync(path.join(release, 'dist/index.html'));
    assert.equal(await check('/'), '/ is not a file of the release (no /index.html): it was never served');
    assert.equal(
      await check('/account', undefined, true),
      '/account is not a file of the release (no /account, and no /index.html): it was never served',
    );
  });

  it('leaves a health command to the health check; a path never leaves the folder', async () => {
    assert.equal(await check('/nothing', 'true'), undefined);
    assert.equal(
      await check('/../../etc/passwd'),
      '/etc/passwd is not a file of the release (no /etc/passwd): it was never served',
    );
  });
});
