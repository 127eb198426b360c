import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RotatingLog } from '../../src/runtime/supervisor-daemon.ts';

describe('supervisor log rotation', () => {
  it('rotates past the size limit, keeping three old files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-log-'));
    try {
      const file = path.join(dir, 'app.log');
      const log = new RotatingLog(file, () => 10);
      for (const line of ['one......\n', 'two......\n', 'three....\n', 'four.....\n', 'five.....\n', 'six\n'])
        log.write(line);
      assert.deepEqual(readdirSync(dir).sort(), ['app.log', 'app.log.1', 'app.log.2', 'app.log.3']);
      assert.equal(readFileSync(file, 'utf8'), 'six\n');
      assert.equal(readFileSync(`${file}.1`, 'utf8'), 'five.....\n');
      assert.equal(readFileSync(`${file}.3`, 'utf8'), 'three....\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
