// Module hooks: a .sh file, and any file imported with `?raw` (the dashboard's page), is a module whose default export
// is its text.
import { readFile } from 'node:fs/promises';

export async function load(url, context, next) {
  const raw = url.endsWith('?raw');
  if (!url.endsWith('.sh') && !raw) return next(url, context);
  const text = await readFile(new URL(raw ? url.slice(0, -4) : url), 'utf8');
  return { format: 'module', shortCircuit: true, source: `export default ${JSON.stringify(text)};` };
}
