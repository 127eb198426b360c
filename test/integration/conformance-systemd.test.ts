// The runtime adapter contract (test/helpers/conformance.ts) on systemd, behind Caddy.
import { conformance, NODE_APP } from '../helpers/conformance.ts';

conformance({
  ...NODE_APP,
  runtime: 'systemd',
  host: 'conf-sd',
  address: '10.77.52.2',
  config: 'runtime: systemd\nrun: node server.js\nport: 3000\n',
});
