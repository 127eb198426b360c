// Bundles the CLI (dist/slipway.mjs) and the host-side supervisor (dist/supervisor.cjs).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = { bundle: true, platform: 'node', logLevel: 'warning', legalComments: 'none' };
await build({
  ...common,
  entryPoints: ['src/cli/entry.ts'],
  outfile: 'dist/slipway.mjs',
  format: 'esm',
  target: 'node20',
  define: { SLIPWAY_VERSION: JSON.stringify(version) },
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
await build({ ...common, entryPoints: ['src/runtime/supervisor-entry.ts'], outfile: 'dist/supervisor.cjs', format: 'cjs', target: 'node18' });
