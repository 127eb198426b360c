// A line diff (longest common subsequence), for a release's config against the one before it: small texts only.
export interface DiffLine {
  op: ' ' | '+' | '-';
  line: string;
}

export function lineDiff(before: string[], after: string[]): DiffLine[] {
  const n = before.length;
  const m = after.length;
  // lcs[i][j]: the longest common subsequence of before[i..] and after[j..]
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = before[i] === after[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      out.push({ op: ' ', line: before[i++]! });
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push({ op: '+', line: after[j++]! });
    else out.push({ op: '-', line: before[i++]! });
  }
  return out;
}

/** Only the changed lines and `context` lines around each change. */
export function changedOnly(diff: DiffLine[], context = 2): DiffLine[] {
  const near = (k: number) => diff.slice(Math.max(0, k - context), k + context + 1).some((d) => d.op !== ' ');
  return diff.filter((_, k) => near(k));
}
