// The README's configuration reference, generated from the schema.
import { jsonSchema } from './schema.ts';

interface Prop {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, Prop>;
  items?: Prop;
  additionalProperties?: Prop | boolean;
  anyOf?: Prop[];
}

function typeOf(p: Prop): string {
  if (p.enum) return p.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (p.anyOf) return p.anyOf.map(typeOf).join(' \\| ');
  if (p.type === 'array') return `list of ${typeOf(p.items ?? {})}`;
  if (p.type === 'object' && p.additionalProperties && typeof p.additionalProperties === 'object')
    return `map of ${typeOf(p.additionalProperties)}`;
  return Array.isArray(p.type) ? p.type.join(' \\| ') : (p.type ?? 'any');
}

function fmtDefault(p: Prop): string {
  if (p.default === undefined) return '';
  if (typeof p.default === 'object' && p.default !== null && !Array.isArray(p.default)) return '';
  return `\`${JSON.stringify(p.default)}\``;
}

export function configReference(): string {
  const schema = jsonSchema() as Prop & { required: string[] };
  const rows: string[] = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  const add = (key: string, p: Prop) => {
    const nested = p.type === 'object' && p.properties;
    rows.push(
      `| \`${key}\` | ${nested ? 'mapping' : typeOf(p)} | ${fmtDefault(p)} | ` +
        `${(p.description ?? '').replaceAll('|', '\\|')} |`,
    );
    if (nested && key !== 'environments') for (const [k, v] of Object.entries(p.properties!)) add(`${key}.${k}`, v);
    // lists of mappings (checks, wait_for, webhooks): each entry's keys
    if (p.type === 'array' && p.items?.properties)
      for (const [k, v] of Object.entries(p.items.properties)) add(`${key}[].${k}`, v);
  };
  for (const [k, v] of Object.entries(schema.properties!)) {
    if (k === 'environments') continue;
    add(k, v);
  }
  const envs = schema.properties!.environments!;
  rows.push(`| \`environments\` | mapping | | ${envs.description} |`);
  const env = (envs.additionalProperties as Prop).properties!;
  rows.push(`| \`environments.<name>.hosts\` | ${typeOf(env.hosts!)} | | ${env.hosts!.description} |`);
  rows.push(`| \`environments.<name>.after\` | string | | ${env.after!.description} |`);
  rows.push(`| \`environments.<name>.roles\` | mapping | | ${env.roles!.description} |`);
  rows.push(
    '| `environments.<name>.<setting>` | | | Any setting above except `app`, overriding it for this environment ' +
      '(mappings merge key by key, lists replace). |',
  );
  return rows.join('\n');
}
