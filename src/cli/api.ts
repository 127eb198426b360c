// The engine, loaded by a hook that runs before any command's action.
import type * as Engine from './engine-api.ts';

let loaded: typeof Engine | undefined;

export async function loadApi(): Promise<void> {
  loaded ??= await import('./engine-api.ts');
}

export function api(): typeof Engine {
  if (!loaded) throw new Error('internal: the engine is used before it was loaded');
  return loaded;
}
