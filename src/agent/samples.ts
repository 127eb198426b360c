// Health over time: a sample a minute per app (its health check's latency and outcome, its CPU and memory), appended
// to a root-only file that is cut back to a week once it holds two.
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Sample } from '../web/board.ts';

export const SAMPLE_EVERY_MS = 60_000;
/** a week of samples, a minute apart */
export const SAMPLES_KEPT = 7 * 24 * 60;
/** a sample's line is about this long: the file is cut back when it passes twice the week */
const LINE_BYTES = 64;

export function appendSample(file: string, s: Sample, kept = SAMPLES_KEPT): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${JSON.stringify(s)}\n`, { mode: 0o600 });
  if (statSync(file).size > 2 * kept * LINE_BYTES) writeFileSync(file, lastLines(file, kept), { mode: 0o600 });
}

function lastLines(file: string, n: number): string {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return `${lines.slice(-n).join('\n')}\n`;
}

export function readSamples(file: string, since = 0): Sample[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      const s = JSON.parse(line) as Sample;
      return s.t >= since ? [s] : [];
    } catch {
      return [];
    }
  });
}

/** CPU time (µs) and memory (bytes) of the cgroup a process runs in (its unit, its container), or the process alone. */
export function usageOf(pid: number): { cpuUs: number; mem: number } | undefined {
  try {
    const group = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(\/.*)$/m)?.[1];
    if (group && group !== '/') {
      const dir = path.posix.join('/sys/fs/cgroup', group);
      const cpu = readFileSync(path.posix.join(dir, 'cpu.stat'), 'utf8').match(/^usage_usec (\d+)$/m)?.[1];
      const mem = readFileSync(path.posix.join(dir, 'memory.current'), 'utf8').trim();
      if (cpu && mem) return { cpuUs: Number(cpu), mem: Number(mem) };
    }
  } catch {
    /* no cgroup v2 here: the process's own figures */
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return { cpuUs: ticks * 10_000, mem: rssPages * 4096 };
  } catch {
    return undefined;
  }
}

/** % of one core between two readings (pure). */
export function cpuPercent(before: { cpuUs: number; t: number }, after: { cpuUs: number; t: number }): number {
  const wall = (after.t - before.t) * 1000;
  if (wall <= 0) return 0;
  return Math.round(((after.cpuUs - before.cpuUs) / wall) * 1000) / 10;
}
