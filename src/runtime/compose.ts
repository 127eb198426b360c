// Accessories from a compose file (Kamal's accessories): the app's own service is built and switched
// blue/green by the docker runtime like any image; every other service (a database, a cache) is started
// with docker compose under one project per app and left running across deploys and rollbacks (compose
// recreates one only when its definition changed).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Pair } from 'yaml';
import { closest } from '../text.ts';

export interface ComposeSpec {
  file: string;
  service: string;
}

const SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The accessories of the compose file (every service but the app's), or why it cannot be used. */
export function composeAccessories(dir: string, spec: ComposeSpec): { accessories: string[] } | { problem: string } {
  const file = path.join(dir, spec.file);
  const shown = path.relative(process.cwd(), file) || file;
  if (!existsSync(file)) return { problem: `${shown}: not found → create it, or fix docker.compose.file` };
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines });
  const at = (offset = 0) => {
    const { line, col } = lines.linePos(offset);
    return `${shown}:${line}:${col}`;
  };
  if (doc.errors[0]) return { problem: `${at(doc.errors[0].pos[0])}: ${doc.errors[0].message.split('\n')[0]}` };
  const services = doc.get('services');
  if (!isMap(services)) return { problem: `${at()}: services: missing → list the app and its accessories` };
  const pairs = (services.items as Pair[]).map((p) => ({
    name: String(isScalar(p.key) ? p.key.value : p.key),
    offset: isScalar(p.key) ? p.key.range?.[0] : 0,
    value: p.value,
  }));
  const names = pairs.map((p) => p.name);
  if (!names.includes(spec.service)) {
    const guess = closest(spec.service, names);
    return {
      problem:
        `${at(services.range?.[0])}: services: no service "${spec.service}" (docker.compose.service) → ` +
        `${guess ? `did you mean "${guess}"? ` : ''}services defined: ${names.join(', ')}`,
    };
  }
  for (const { name, offset, value } of pairs) {
    const where = `${at(offset)}: services.${name}`;
    if (!SERVICE.test(name)) return { problem: `${where}: not a service name → letters, digits, . _ -` };
    if (name !== spec.service && !(isMap(value) && value.has('image')))
      return { problem: `${where}: an accessory needs an \`image\` (only the app's service is built) → add image:` };
  }
  return { accessories: names.filter((n) => n !== spec.service) };
}
