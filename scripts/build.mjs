// Bundles the CLI (dist/slipway.mjs, with the engine in a chunk loaded when a
// command runs), the host-side supervisor (dist/supervisor.cjs) and the agent (dist/agent.mjs).
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  logLevel: 'warning',
  legalComments: 'none',
  loader: { '.sh': 'text' },
};
// ES modules that may still require() Node's built-ins, stamped with the version
const esm = {
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  format: 'esm',
  minify: true,
  define: { SLIPWAY_VERSION: JSON.stringify(version) },
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  ...common,
  ...esm,
  entryPoints: { slipway: 'src/cli/entry.ts' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  target: 'node20',
});
await build({
  ...common,
  entryPoints: ['src/runtime/supervisor-entry.ts'],
  outfile: 'dist/supervisor.cjs',
  format: 'cjs',
  target: 'node18',
});
await build({
  ...common,
  ...esm,
  entryPoints: { agent: 'src/agent/entry.ts' },
  target: 'node18',
});
