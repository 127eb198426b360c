// Which files make a release: include/exclude globs over the app folder,
// honouring .gitignore unless a pattern other than `**` names the path.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import ignore from 'ignore';
import picomatch from 'picomatch';
import { SlipwayError } from '../errors.ts';
import { hasControlChar } from '../text.ts';

export interface ManifestRules {
  include: string[];
  exclude: string[];
}

const ALWAYS_EXCLUDED = ['.git/**', '**/.git/**'];

/** Sorted relative paths of the files (and symlinks) in the release. */
export async function selectFiles(dir: string, rules: ManifestRules): Promise<string[]> {
  const explicit = rules.include.filter((p) => p !== '**' && p !== '**/*');
  const notIgnored = await listNotIgnored(dir);
  const explicitly = explicit.length ? await walk(dir, explicit) : [];
  return filterPaths(refuseUnshippable([...notIgnored, ...explicitly]), rules);
}

/**
 * The paths, once none has a control character: the manifest and the transfer list paths one per
 * line, so such a name can be neither shipped nor dropped unseen (a glob's `**` never matches it).
 */
export function refuseUnshippable(paths: string[]): string[] {
  const bad = paths.find((p) => hasControlChar(p));
  if (bad)
    throw new SlipwayError(
      'config',
      `${JSON.stringify(bad)}: a file name with a line break or control character cannot be shipped → rename ` +
        `it, or list it in .gitignore`,
    );
  return paths;
}

/** The pure part: apply include/exclude to candidate paths, dedupe, sort. */
export function filterPaths(candidates: Iterable<string>, rules: ManifestRules): string[] {
  const included = picomatch(rules.include, { dot: true });
  const excluded = picomatch([...ALWAYS_EXCLUDED, ...rules.exclude], { dot: true });
  const out = new Set<string>();
  for (const p of candidates) if (included(p) && !excluded(p)) out.add(p);
  return [...out].sort();
}

async function listNotIgnored(dir: string): Promise<string[]> {
  const [git, deleted] = await Promise.all([
    execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: dir, reject: false }),
    execa('git', ['ls-files', '-z', '--deleted'], { cwd: dir, reject: false }),
  ]);
  if (git.exitCode === 0) {
    // --cached also lists tracked files deleted from the work tree: drop those.
    const gone = new Set(deleted.stdout.split('\0'));
    return git.stdout.split('\0').filter((p) => p && !gone.has(p));
  }
  // Not a git repository: honour a top-level .gitignore if there is one.
  const ig = ignore();
  try {
    ig.add(readFileSync(path.join(dir, '.gitignore'), 'utf8'));
  } catch {
    /* no .gitignore */
  }
  return (await walk(dir, ['**'])).filter((p) => !ig.ignores(p));
}

/**
 * Files and symlinks (to files or folders, not followed) matching the patterns, `.git` left out.
 * Names with a control character are listed whatever the patterns say, so that the caller can
 * refuse them (`refuseUnshippable`) rather than lose them.
 */
export async function walk(dir: string, patterns: string[]): Promise<string[]> {
  // a pattern starting with "!" takes paths away (as in gitignore and fast-glob)
  const positive = patterns.filter((p) => !p.startsWith('!'));
  const negative = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const included = picomatch(positive, { dot: true });
  const excluded = negative.length ? picomatch(negative, { dot: true }) : () => false;
  const matches = (p: string) => included(p) && !excluded(p);
  const out = new Set<string>();
  for (const base of new Set(positive.map((p) => picomatch.scan(p).base))) {
    const st = lstatSync(path.join(dir, base), { throwIfNoEntry: false });
    const found = !st ? [] : st.isDirectory() ? listUnder(dir, base) : [base];
    for (const p of found) if (hasControlChar(p) || matches(p)) out.add(p);
  }
  return [...out];
}

/** Every file and symlink below `rel` (a folder of root), not entering `.git`. */
function listUnder(root: string, rel: string, out: string[] = []): string[] {
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (!e.isDirectory()) out.push(p);
    else if (e.name !== '.git') listUnder(root, p, out);
  }
  return out;
}
