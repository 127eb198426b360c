// The event bus and its terminal renderer: what a step emits, and the lines a terminal shows for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DeployEvent, Events } from '../../src/engine/events.ts';
import { Terminal } from '../../src/cli/terminal.ts';

function capture(quiet = false): { events: Events; lines: () => string[] } {
  let text = '';
  const write = (s: string) => {
    text += s;
    return true;
  };
  const out = { isTTY: false, write } as unknown as NodeJS.WriteStream;
  const events = new Events({ verbose: true });
  new Terminal(events, { quiet }, out);
  return { events, lines: () => text.split('\n').slice(0, -1) };
}

describe('events', () => {
  it('a step emits start, progress and done under its phase name, and is kept for --json', async () => {
    const events = new Events();
    const all: DeployEvent[] = [];
    events.subscribe((e) => all.push(e));
    const got = await events.step(
      'Transfer 3 files',
      async (c) => {
        c.progress('50%');
        c.done('3 changed');
        return 7;
      },
      'transfer',
    );
    assert.equal(got, 7);
    assert.deepEqual(
      all.map((e) => (e.type === 'phase' ? [e.phase, e.title, e.state] : [e.type])),
      [
        ['transfer', 'Transfer 3 files', 'start'],
        ['transfer', 'Transfer 3 files', 'progress'],
        ['transfer', 'Transfer 3 files', 'done'],
      ],
    );
    assert.deepEqual(
      events.steps.map(({ ms: _, ...s }) => s),
      [{ title: 'Transfer 3 files', ok: true, note: '3 changed' }],
    );
  });

  it('a failing step emits failed and rethrows', async () => {
    const events = new Events();
    const states: string[] = [];
    events.subscribe((e) => e.type === 'phase' && states.push(e.state));
    await assert.rejects(
      events.step('Lock', async () => {
        throw new Error('held');
      }),
      /held/,
    );
    assert.deepEqual(states, ['start', 'failed']);
    assert.equal(events.steps[0]!.ok, false);
  });

  it('the terminal shows steps, messages, commands and output, every line redacted', async () => {
    const { events, lines } = capture();
    events.addSecrets(['hunter2-secret']);
    await events.step('Install: npm ci', async (c) => c.done('installed hunter2-secret'));
    events.info('Release R is live');
    events.warn('webhook down');
    events.command('web1', ['echo', 'hunter2-secret']);
    events.output('web1')!('added 3 packages');
    events.output()!('building');
    // a step's line: its title in 36 columns, its time right-aligned in 7, then its note
    const time = (l: string) => (/^ *\d+ms$/.test(l.slice(39, 46)) ? `${l.slice(0, 39)}<time>${l.slice(46)}` : l);
    const shown = lines().map(time);
    assert.deepEqual(shown, [
      '✔ Install: npm ci                      <time>  installed [redacted]',
      'Release R is live',
      '! webhook down',
      '  $ [web1] echo [redacted]',
      '  [web1] added 3 packages',
      '  building',
    ]);
  });

  it('quiet: only warnings reach the terminal', async () => {
    const { events, lines } = capture(true);
    await events.step('Lock', async () => undefined);
    events.info('live');
    events.warn('careful');
    assert.deepEqual(lines(), ['! careful']);
  });

  it('without --verbose no command or output events are emitted', () => {
    const events = new Events();
    const all: DeployEvent[] = [];
    events.subscribe((e) => all.push(e));
    events.command('web1', ['true']);
    assert.equal(events.output('web1'), undefined);
    assert.deepEqual(all, []);
  });
});
