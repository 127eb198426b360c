// Bundles the CLI (dist/slipway.mjs, with the engine in a chunk loaded when a
// command runs), the host-side supervisor (dist/supervisor.cjs) and the agent (dist/agent.mjs).
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/** `import TEXT from './file?raw'`: the file's text (the dashboard's page, served by the agent) */
const raw = {
  name: 'raw',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({
      path: path.join(a.resolveDir, a.path.slice(0, -4)),
      namespace: 'raw',
    }));
    b.onLoad({ filter: /.*/, namespace: 'raw' }, async (a) => ({
      contents: await readFile(a.path, 'utf8'),
      loader: 'text',
    }));
  },
};
const common = {
  plugins: [raw],
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
