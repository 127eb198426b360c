// The runtime adapter contract (test/helpers/conformance.ts) on slipway's supervisor, over SSH, behind Caddy.
import { conformance, NODE_APP } from '../helpers/conformance.ts';

conformance({
  ...NODE_APP,
  runtime: 'supervisor',
  host: 'conf-sv',
  address: '10.77.53.2',
  config: 'runtime: supervisor\nrun: node server.js\nport: 3000\n',
});
