// The runtime adapter contract (test/helpers/conformance.ts) on the docker runtime: an image built here and shipped
// without a registry, blue/green behind Caddy.
import { conformance, DOCKER_LAYER, IMAGE_APP } from '../helpers/conformance.ts';

conformance({
  ...IMAGE_APP,
  runtime: 'docker',
  host: 'conf-dk',
  address: '10.77.55.2',
  layer: DOCKER_LAYER,
  config: 'runtime: docker\nport: 3000\n',
});
