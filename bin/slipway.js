#!/usr/bin/env node
// The bundled CLI; a checkout that was never built says what to run instead of a module stack trace.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/slipway.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write(
    `✖ slipway is not built → run: npm run build (in ${fileURLToPath(new URL('..', import.meta.url))})\n`,
  );
  process.exit(1);
}
await import(bundle.href);
