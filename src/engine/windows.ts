// Deploy windows: when an environment accepts deploys. Pure functions of the
// config and a moment; `--force` overrides them (and the override is recorded).
import { SlipwayError } from '../errors.ts';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface Windows {
  allow: string[];
  block: string[];
  timezone: string;
}

/** Day of week (0 = Sunday) and minutes since midnight of `at` in the time zone. */
export function localTime(
  at: Date,
  timezone: string,
  file = 'slipway.yml',
): { day: number; minutes: number; label: string } {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(at);
  } catch {
    throw new SlipwayError('config', `${file}: windows.timezone: unknown time zone "${timezone}"`, {
      hint: 'use an IANA name such as UTC, Europe/Berlin or America/New_York',
    });
  }
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  const hour = Number(get('hour'));
  const minute = Number(get('minute'));
  return {
    day: DAYS.indexOf(get('weekday')),
    minutes: hour * 60 + minute,
    label: `${get('weekday')} ${get('hour')}:${get('minute')}`,
  };
}

function days(spec: string): Set<number> {
  if (spec === '*') return new Set(DAYS.keys());
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [from, to = from] = part.split('-').map((d) => DAYS.indexOf(d));
    for (let d = from!; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return out;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/**
 * Whether a moment (day, minutes) falls in a window like `Mon-Fri 09:00-17:00`; a range past midnight belongs to the
 * day it starts.
 */
export function inWindow(window: string, t: { day: number; minutes: number }): boolean {
  const [daySpec, range] = window.split(' ') as [string, string];
  const [start, end] = range.split('-').map(minutesOf) as [number, number];
  const on = days(daySpec);
  if (start < end) return on.has(t.day) && t.minutes >= start && t.minutes < end;
  // wraps past midnight: the evening part on the day itself, the morning part on the next day
  return (on.has(t.day) && t.minutes >= start) || (on.has((t.day + 6) % 7) && t.minutes < end);
}

/** Why a deploy may not run at `at`, or undefined when it may. */
export function windowRefusal(w: Windows, at: Date, file?: string): string | undefined {
  if (!w.allow.length && !w.block.length) return undefined;
  const t = localTime(at, w.timezone, file);
  const now = `it is ${t.label} ${w.timezone}`;
  const blocked = w.block.find((b) => inWindow(b, t));
  if (blocked) return `deploys are blocked now (${blocked}; ${now})`;
  if (w.allow.length && !w.allow.some((a) => inWindow(a, t)))
    return `deploys are allowed only ${w.allow.join(', ')} (${now})`;
  return undefined;
}
