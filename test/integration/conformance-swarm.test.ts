// The runtime adapter contract (test/helpers/conformance.ts) on a single-node swarm, behind Caddy.
import { conformance, IMAGE_APP, SWARM_LAYER } from '../helpers/conformance.ts';

conformance({
  ...IMAGE_APP,
  runtime: 'swarm',
  host: 'conf-sw',
  address: '10.77.56.2',
  layer: SWARM_LAYER,
  config: 'runtime: swarm\nport: 3000\nswarm: { init: true }\n',
});
