// Node (tests, tsx) imports the host scripts (*.sh) as their text, as the esbuild bundle does.
import { register } from 'node:module';

register('./text-hooks.mjs', import.meta.url);
