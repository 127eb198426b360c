// The runtime adapter contract (test/helpers/conformance.ts) on the static runtime: Caddy serves the files; a
// release without its health page is refused before it is served.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { conformance } from '../helpers/conformance.ts';
import { writeFiles } from '../helpers/stack.ts';
import { testhostUnavailable } from '../helpers/testhost.ts';

conformance({
  runtime: 'static',
  host: 'conf-st',
  address: '10.77.54.2',
  // the page is the message itself, and /health a file that is there while the release is well
  files: { health: 'ok\n' },
  page: 'index.html',
  config: 'runtime: static\n',
  breakIt: (repo) => rmSync(path.join(repo, 'health')),
  heal: (repo) => writeFiles(repo, { health: 'ok\n' }),
  logged: /GET/,
  execPort: false,
  skip: testhostUnavailable(),
});
