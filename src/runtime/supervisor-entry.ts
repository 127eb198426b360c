// Entry point of the bundled supervisor (dist/supervisor.cjs).
import { main } from './supervisor-daemon.ts';

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`slipway supervisor: ${e.message}\n`);
  process.exit(1);
});
