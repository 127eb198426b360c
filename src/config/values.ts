// Value schemas shared by the config's core and the runtime adapters' own sections.
import * as z from 'zod';
import { hasControlChar } from '../text.ts';

/** Why a path written relative to a folder would leave it, or undefined when it stays inside. */
export function relativePathProblem(p: string, what = 'path'): string | undefined {
  if (hasControlChar(p)) return `${what} has a control character (a line break?) → remove it`;
  if (p.startsWith('/') || p.startsWith('~'))
    return `${what} must be relative to the app folder, got "${p}" → drop the leading "${p[0]}"`;
  if (p.split('/').includes('..')) return `${what} leaves its folder ("..") → write a path inside the app folder`;
  return undefined;
}

/** A string refused with the message its `problem` gives (undefined: taken). */
export const checkedBy = (problem: (v: string) => string | undefined, base = z.string()) =>
  base.superRefine((v, ctx) => {
    const message = problem(v);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

/** A path relative to the app (or release) folder that stays inside it. */
export const relativePath = (what: string) =>
  checkedBy(
    (p) => relativePathProblem(p, what),
    z.string().min(1, `is empty → write a ${what} relative to the app folder`),
  );

/** A file on the host, named in slipway.yml by an absolute path of plain characters (a token file). */
export const hostFile = () =>
  z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/, 'must be an absolute path of plain characters → e.g. /etc/slipway/token')
    .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');
