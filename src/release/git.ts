// What the working tree says about the release: sha, subject, dirtiness.
import { execa } from 'execa';

export interface GitInfo {
  sha: string;
  subject: string;
  dirty: boolean;
  /** dirty paths, for the refusal message */
  changes: string[];
}

/** `ignore`: folders (relative to dir) whose changes do not make the tree dirty. */
export async function gitInfo(dir: string, ignore: string[] = []): Promise<GitInfo | undefined> {
  const inside = await execa('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, reject: false });
  if (inside.exitCode !== 0) return undefined;
  const head = await execa('git', ['log', '-1', '--format=%H%n%s'], { cwd: dir, reject: false });
  const [sha = '', subject = ''] = head.exitCode === 0 ? head.stdout.split('\n') : [];
  const status = await execa('git', ['status', '--porcelain', '-z', '--untracked-files=normal'], { cwd: dir });
  const changes = status.stdout
    .split('\0')
    .filter(Boolean)
    .map((l) => l.slice(3))
    .filter((p) => !ignore.some((d) => p === d || p === `${d}/` || p.startsWith(`${d}/`)));
  return { sha, subject, dirty: changes.length > 0, changes };
}
