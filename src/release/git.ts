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
  const [status, head] = await Promise.all([
    execa('git', ['status', '--porcelain', '-z', '--untracked-files=normal'], { cwd: dir, reject: false }),
    execa('git', ['log', '-1', '--format=%H%n%s'], { cwd: dir, reject: false }),
  ]);
  if (status.exitCode !== 0) return undefined; // not a git repository
  const [sha = '', subject = ''] = head.exitCode === 0 ? head.stdout.split('\n') : [];
  const changes = status.stdout
    .split('\0')
    .filter(Boolean)
    .map((l) => l.slice(3))
    .filter((p) => !ignore.some((d) => p === d || p === `${d}/` || p.startsWith(`${d}/`)));
  return { sha, subject, dirty: changes.length > 0, changes };
}
