// The state read done in process on the agent's own host must say exactly what state-read.sh says over SSH.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { layout } from '../../src/server/layout.ts';
import { HISTORY_LINES, readState, stateArgv } from '../../src/server/state.ts';
import { stateTextHere } from '../../src/server/state-here.ts';
import { LocalHost } from '../../src/transport/local.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-state-here-'));
const l = layout(path.join(tmp, 'srv/app'));
const host = new LocalHost({ name: 'local', kind: 'local', role: 'web' }, () => undefined);
const script = async () => (await host.run(stateArgv(l))).stdout;
const IDS = ['20261201T100000Z-1', '20261202T100000Z-2', '20261202T110000Z-3'];

describe('the state read in process', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('not set up: no state, as the script exits', () => {
    assert.equal(stateTextHere(l, HISTORY_LINES), undefined);
    mkdirSync(l.appDir, { recursive: true });
    assert.equal(stateTextHere(l, HISTORY_LINES), undefined);
  });

  it('a bare set-up app: the same text as the script', async () => {
    mkdirSync(l.meta, { recursive: true });
    mkdirSync(l.releases);
    assert.equal(stateTextHere(l, HISTORY_LINES), await script());
  });

  it('releases, slots, manifests, desired state and a history longer than is read: the same text', async () => {
    mkdirSync(l.manifests, { recursive: true });
    mkdirSync(path.join(l.appDir, 'slots'));
    for (const id of IDS) {
      mkdirSync(l.release(id));
      writeFileSync(path.join(l.manifests, `${id}.${'0'.repeat(32)}`), '');
    }
    symlinkSync(`releases/${IDS[2]}`, l.current);
    symlinkSync(path.join(l.releases, IDS[1]!), path.join(l.appDir, 'slots', 'b'));
    writeFileSync(l.desired, `${JSON.stringify({ release: IDS[2], environment: 'production' })}\n`);
    for (let i = 0; i < HISTORY_LINES + 300; i++) {
      const record = { event: i % 2 ? 'succeeded' : 'started', release: IDS[i % 3], subject: `ünïcödé ✓ ${i}` };
      appendFileSync(l.history, `${JSON.stringify(record)}\n`);
    }
    const here = stateTextHere(l, HISTORY_LINES);
    assert.equal(here, await script());
    const state = await readState(host, l);
    assert.equal(state.current, IDS[2]);
    assert.equal(state.history.length, HISTORY_LINES);
    assert.equal(state.history.at(-1)?.subject, `ünïcödé ✓ ${HISTORY_LINES + 299}`);
  });
});
