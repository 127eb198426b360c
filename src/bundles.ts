// The host-side programs slipway ships as single bundled files (dist/supervisor.cjs, dist/agent.mjs), read to be
// uploaded: beside the CLI's chunk (dist/chunks/), or found from the sources (src/…) when run unbundled.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function bundled(file: 'supervisor.cjs' | 'agent.mjs'): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.join(here, '..', file), path.join(here, '..', 'dist', file)]) {
    try {
      return readFileSync(candidate, 'utf8');
    } catch {
      /* try the next */
    }
  }
  throw new Error(`dist/${file} is missing: run \`npm run build\``);
}
