// A release that runs from an image: built here once before any host is touched and then
// shipped (only the layers a host lacks), or built on each host from the release's files.
import { formatBytes } from '../../text.ts';
import { eachHost } from '../session.ts';
import type { HostView, Phase } from './phase.ts';

const buildsHere = (v: HostView) => !!v.runtime.image?.builtHere(v.env, '');

export const imageBuild: Phase = {
  name: 'image_build',
  scope: 'all',
  applies: buildsHere,
  describe: ({ s }) => [
    { step: 'image_build', text: `Build image here: ${s.cfg.docker.dockerfile}, before any host is changed` },
  ],
  async run(r) {
    const { s, release } = r;
    const shipping = s.runtime.image!;
    r.image = await s.events.step(
      `Build image ${shipping.builtHere(s.cfg, release.id)}${shipping.pushed ? ' and push it' : ''}`,
      () => shipping.buildHere(s.cfg, release.id, release.srcDir, s.events.output()),
    );
  },
};

export const image: Phase = {
  name: 'image',
  scope: 'group',
  applies: (v) => !!v.runtime.image,
  describe: ({ view }) => [
    buildsHere(view)
      ? { step: 'image', built: 'here', text: 'Ship image: only the layers the host lacks' }
      : { step: 'image', built: 'host', text: 'Build image on the host from the release' },
  ],
  async run(r, hosts, tag) {
    const { s, release } = r;
    const shipping = s.runtime.image!;
    const image = r.image;
    if (!image) {
      await s.events.step(`${tag}${shipping.hostStep(s.cfg)}`, () =>
        eachHost(
          hosts,
          (h) => shipping.buildOnHost(h, s.cfg, release.id, s.layout.release(release.id), s.events.output()),
          s.cfg.rollout.concurrency,
        ),
      );
      return;
    }
    if (shipping.pushed) return;
    const lacks = await eachHost(hosts, (h) => shipping.lacks(h, image), s.cfg.rollout.concurrency);
    // exported only when a host lacks the image: an unchanged build is only tagged on the hosts
    if (lacks.some((l) => l.image))
      await s.events.step(`${tag}Export image (docker save)`, async (c) => {
        c.done(formatBytes((await shipping.export(image)).bytes));
      });
    await s.events.step(`${tag}Ship image`, async (c) => {
      const shipped = await eachHost(hosts, (h, i) => shipping.ship(h, image, lacks[i]!), s.cfg.rollout.concurrency);
      const first = shipped[0]!;
      c.done(
        lacks.every((l) => !l.image)
          ? 'already on the host(s): tagged'
          : `${first.sent} layer(s) sent, ${first.skipped} already on the host, ` +
              `${formatBytes(shipped.reduce((n, x) => n + x.bytes, 0))}`,
      );
    });
  },
};
