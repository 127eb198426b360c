// Loading a slipway.yml given as text, for tests of what it accepts and what it refuses.
import assert from 'node:assert/strict';
import { parseConfig, resolveEnvironment } from '../../src/config/load.ts';
import { SlipwayError } from '../../src/errors.ts';

export const loadEnvironment = (text: string, environment = 'production') =>
  resolveEnvironment(parseConfig(text, 'slipway.yml'), environment);

/** The message of the config error the text is refused with (the test fails when it is taken). */
export function configError(text: string, environment = 'production'): string {
  try {
    loadEnvironment(text, environment);
  } catch (e) {
    assert.ok(e instanceof SlipwayError && e.kind === 'config', String(e));
    return e.message;
  }
  assert.fail('expected a config error');
}
