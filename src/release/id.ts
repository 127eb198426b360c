// Release ids sort by time and carry the git sha: 20261122T031500Z-1a2b3c4[-dirty].
export const RELEASE_ID = /^\d{8}T\d{6}\d{0,3}Z(?:-[0-9a-f]{7,40})?(?:-dirty)?$/;

export function releaseId(now: Date, sha: string | undefined, dirty: boolean): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
  const parts = [stamp];
  if (sha) parts.push(sha.slice(0, 7));
  if (dirty) parts.push('dirty');
  return parts.join('-');
}

export function isReleaseId(s: string): boolean {
  return RELEASE_ID.test(s);
}
