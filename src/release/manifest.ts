// Which files make a release: include/exclude globs over the app folder,
// honouring .gitignore unless a pattern other than `**` names the path.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import ignore from 'ignore';
import picomatch from 'picomatch';
import fg from 'fast-glob';
import { SlipwayError } from '../errors.ts';

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
  const candidates = [...notIgnored, ...explicitly];
  // the manifest and the transfer list paths one per line: such a name can be neither shipped nor dropped unseen
  const unshippable = candidates.find((p) => CONTROL.test(p)) ?? unshippableName(dir, explicit);
  if (unshippable) {
    throw new SlipwayError('config', `${JSON.stringify(unshippable)}: a file name with a line break or control character cannot be shipped → rename it, or list it in .gitignore`);
  }
  return filterPaths(candidates, rules);
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
  const unshippable = unshippableName(dir, ['**']);
  if (unshippable && !ig.ignores(unshippable)) return [unshippable];
  return (await walk(dir, ['**'])).filter((p) => !ig.ignores(p));
}

const CONTROL = /[\x00-\x1f\x7f]/;

/** A name with a control character under the folders the patterns walk: fast-glob never lists such names. */
function unshippableName(dir: string, patterns: string[]): string | undefined {
  for (const base of new Set(patterns.map((p) => picomatch.scan(p).base))) {
    let names: string[];
    try {
      names = readdirSync(path.join(dir, base), { recursive: true, encoding: 'utf8' });
    } catch {
      continue; // no such folder: nothing to ship from it
    }
    const bad = names.find((n) => CONTROL.test(n) && !n.split(path.sep).includes('.git'));
    if (bad) return path.posix.join(base, bad);
  }
  return undefined;
}

/** Files and symlinks (to files or folders, not followed) matching the patterns. */
export async function walk(dir: string, patterns: string[]): Promise<string[]> {
  const entries = await fg(patterns, { cwd: dir, dot: true, onlyFiles: false, markDirectories: true, followSymbolicLinks: false, ignore: ALWAYS_EXCLUDED });
  return entries.filter((p) => !p.endsWith('/'));
}
