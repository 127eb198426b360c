// Accessories from a compose file: which services they are, and every way a compose file is refused when
// slipway.yml is loaded (exit 2, the compose file's line and column, what to do).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { SlipwayError } from '../../src/errors.ts';
import { composeAccessories } from '../../src/runtime/compose.ts';
import { runtimeFor } from '../../src/runtime/index.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-compose-'));
const write = (text: string) => writeFileSync(path.join(dir, 'compose.yml'), text);
const spec = { file: 'compose.yml', service: 'web' };
const shown = path.relative(process.cwd(), path.join(dir, 'compose.yml'));
const APP = `app: shop
runtime: docker
port: 3000
docker:
  compose: { file: compose.yml, service: web }
proxy: { port: 80 }
environments:
  production:
    hosts: [web1]
`;

describe('compose accessories', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("are every service but the app's, in the file's order", () => {
    write('services:\n  web:\n    build: .\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n');
    assert.deepEqual(composeAccessories(dir, spec), { accessories: ['db', 'cache'] });
    const cfg = resolveEnvironment(parseConfig(APP, path.join(dir, 'slipway.yml')), 'production');
    assert.deepEqual(runtimeFor(cfg).accessories!(cfg), ['db', 'cache']);
    assert.deepEqual(runtimeFor(cfg).packagesFor!(cfg), { 'docker-compose': 'docker-compose' });
  });

  it('a compose file that cannot be used is refused when slipway.yml is loaded, at its line and column', () => {
    const cases: [string, string][] = [
      ['services:\n  web: [\n', `${shown}:3:1: `],
      ['name: x\n', `${shown}:1:1: services: missing → list the app and its accessories`],
      [
        'services:\n  webb:\n    build: .\n  db:\n    image: postgres\n',
        `${shown}:2:3: services: no service "web" (docker.compose.service) → did you mean "webb"? services ` +
          'defined: webb, db',
      ],
      [
        'services:\n  web:\n    build: .\n  worker:\n    build: ./worker\n',
        `${shown}:4:3: services.worker: an accessory needs an \`image\` (only the app's service is built) → add image:`,
      ],
    ];
    for (const [text, message] of cases) {
      write(text);
      assert.throws(
        () => resolveEnvironment(parseConfig(APP, path.join(dir, 'slipway.yml')), 'production'),
        (e: unknown) => e instanceof SlipwayError && e.exitCode === 2 && e.message.startsWith(message),
        message,
      );
    }
    rmSync(path.join(dir, 'compose.yml'));
    assert.deepEqual(composeAccessories(dir, spec), {
      problem: `${shown}: not found → create it, or fix docker.compose.file`,
    });
  });
});
