// Secret values never leave slipway as they are: every line of output, every event and
// every webhook body passes through the run's Redactor, in every form a secret takes there.
import { shellQuote } from '../errors.ts';

/** Shorter secrets would be found in ordinary words and numbers: they are refused, not redacted. */
export const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private secrets: string[] = [];
  private spaced: RegExp[] = [];

  /** Values that must never appear in output, in any of the forms output gives them. */
  addSecrets(values: string[]): void {
    const kept = values.filter((v) => v.length >= MIN_SECRET_LENGTH);
    // longest first: a form that contains another is replaced whole
    this.secrets = [...new Set([...this.secrets, ...kept.flatMap(secretForms)])].sort((a, b) => b.length - a.length);
    // log viewers turn a tab into spaces (journalctl does): whitespace inside a secret matches any run of it
    this.spaced.push(
      ...kept.filter((v) => /\s/.test(v)).map((v) => new RegExp(v.split(/\s+/).map(escapeRegExp).join('\\s+'), 'g')),
    );
  }

  redact(text: string): string {
    let s = text;
    for (const v of this.secrets) s = s.split(v).join('[redacted]');
    for (const re of this.spaced) s = s.replace(re, '[redacted]');
    return s;
  }

  /** A value with every string in it redacted, before it is encoded (JSON would escape a secret's quotes first). */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v)) as T;
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactValue(v)])) as T;
    return value;
  }

  /** JSON text of a value, redacted before and after encoding. */
  redactedJson(value: unknown, indent?: number): string {
    return this.redact(JSON.stringify(this.redactValue(value), null, indent));
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The forms a secret takes in output: as is, JSON-escaped, shell-quoted, URL-encoded and base64. */
export function secretForms(v: string): string[] {
  const b64 = Buffer.from(v).toString('base64');
  return [
    v,
    JSON.stringify(v).slice(1, -1),
    shellQuote(v),
    v.replaceAll("'", "'\\''"),
    encodeURIComponent(v),
    b64,
    b64.replace(/=+$/, ''),
  ];
}
