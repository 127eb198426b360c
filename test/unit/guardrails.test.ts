// Guardrails' pure parts: deploy windows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inWindow, localTime, windowRefusal } from '../../src/engine/windows.ts';

describe('deploy windows', () => {
  // 2026-11-20 is a Friday
  const fri = (hhmm: string) => new Date(`2026-11-20T${hhmm}:00Z`);

  it("reads the moment in the window's time zone", () => {
    assert.deepEqual(localTime(fri('16:20'), 'UTC'), { day: 5, minutes: 16 * 60 + 20, label: 'Fri 16:20' });
    assert.deepEqual(localTime(fri('23:30'), 'Europe/Berlin'), { day: 6, minutes: 30, label: 'Sat 00:30' });
    assert.throws(
      () => localTime(fri('10:00'), 'Mars/Olympus', '/apps/shop/slipway.yml'),
      /\/apps\/shop\/slipway\.yml: windows\.timezone: unknown time zone "Mars\/Olympus"/,
    );
  });

  it('matches days, day ranges, lists and ranges that wrap past midnight', () => {
    const at = (day: number, hh: number, mm = 0) => ({ day, minutes: hh * 60 + mm });
    assert.equal(inWindow('Mon-Fri 09:00-17:00', at(5, 16, 59)), true);
    assert.equal(inWindow('Mon-Fri 09:00-17:00', at(5, 17)), false);
    assert.equal(inWindow('Mon-Fri 09:00-17:00', at(6, 10)), false);
    assert.equal(inWindow('Fri-Mon 09:00-17:00', at(0, 10)), true, 'a day range may wrap the week');
    assert.equal(inWindow('Sat,Sun 10:00-12:00', at(0, 11)), true);
    assert.equal(inWindow('* 22:00-02:00', at(3, 23)), true);
    assert.equal(inWindow('Fri 22:00-02:00', at(6, 1)), true, 'the morning part belongs to the day the window starts');
    assert.equal(inWindow('Fri 22:00-02:00', at(5, 1)), false);
    assert.equal(inWindow('* 00:00-24:00', at(2, 23, 59)), true);
  });

  it('a block wins over an allow; outside every allow is refused; no windows: always', () => {
    const w = { allow: ['Mon-Fri 09:00-17:00'], block: ['Fri 15:00-23:59'], timezone: 'UTC' };
    assert.equal(windowRefusal(w, fri('10:00')), undefined);
    assert.equal(windowRefusal(w, fri('16:20')), 'deploys are blocked now (Fri 15:00-23:59; it is Fri 16:20 UTC)');
    assert.equal(
      windowRefusal({ ...w, block: [] }, fri('18:00')),
      'deploys are allowed only Mon-Fri 09:00-17:00 (it is Fri 18:00 UTC)',
    );
    assert.equal(windowRefusal({ allow: [], block: [], timezone: 'UTC' }, fri('03:00')), undefined);
  });
});
