// Passkeys (WebAuthn) for the dashboard: someone logged in (by a link or an invite) adds a passkey, and later logs in
// with it, as the same name and role, without asking anyone for a link. The ceremonies are @simplewebauthn/server's;
// a passkey belongs to the name the page was reached under (its RP ID), and is kept with the other login tokens.
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Logins, Passkey, WebSession } from './auth.ts';

/** Where the page is, as the browser sees it: the origin its answers are signed for, and the RP ID. */
export interface PageSite {
  origin: string;
  rpID: string;
}

/**
 * The page's site from its request (pure): the Host header (already checked against the allowed names) and the
 * scheme Caddy reports. A passkey needs a name: an address is no RP ID.
 */
export function pageSite(host: string | undefined, forwardedProto: unknown): PageSite | string {
  const name = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (!name || /^\[|^[\d.]+$/.test(name))
    return 'passkeys need the page opened under a name: dashboard.domain, or http://localhost:PORT through the tunnel';
  const scheme = forwardedProto === 'https' ? 'https' : 'http';
  return { origin: `${scheme}://${host!.toLowerCase()}`, rpID: name };
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** What a page shows of the passkeys it may manage: its own, or everyone's for an admin. */
export function passkeyList(all: Record<string, Passkey>, session: WebSession, rpID: string) {
  return Object.entries(all)
    .filter(([, k]) => k.rpID === rpID && (session.role === 'admin' || k.who === session.who))
    .map(([id, k]) => ({ id, who: k.who, role: k.role, added: new Date(k.added).toISOString() }));
}

/** More ceremonies are waiting than are kept at once (answered 429). */
export class TooMany extends Error {}

export class Passkeys {
  constructor(private readonly logins: Logins) {}

  /** Options for the browser to make a passkey for this session's name and role, and the challenge's token. */
  async addOptions(site: PageSite, session: WebSession, sessionToken: string) {
    const mine = Object.entries(this.logins.passkeys()).filter(
      ([, k]) => k.who === session.who && k.rpID === site.rpID,
    );
    const options = await generateRegistrationOptions({
      rpName: 'slipway',
      rpID: site.rpID,
      userName: session.who,
      attestationType: 'none',
      excludeCredentials: mine.map(([id, k]) => ({ id, transports: k.transports as never })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    return { options, challenge: this.waiting(this.logins.challenge(options.challenge, sessionToken)) };
  }

  private waiting(token: string | undefined): string {
    if (!token) throw new TooMany('too many passkey requests are waiting: try again in a minute');
    return token;
  }

  /** Keep the passkey the browser made, once its answer checks out; throws why it does not. */
  async add(site: PageSite, session: WebSession, sessionToken: string, challengeToken: string, answer: unknown) {
    const expectedChallenge = this.logins.takeChallenge(challengeToken, sessionToken);
    if (!expectedChallenge) throw new Error('the passkey request expired or was used: try again');
    const v = await verifyRegistrationResponse({
      response: answer as RegistrationResponseJSON,
      expectedChallenge,
      expectedOrigin: site.origin,
      expectedRPID: site.rpID,
      requireUserVerification: false,
    });
    if (!v.verified) throw new Error('the passkey could not be checked');
    const c = v.registrationInfo.credential;
    this.logins.keepPasskey(c.id, {
      who: session.who,
      role: session.role,
      rpID: site.rpID,
      publicKey: b64url(c.publicKey),
      counter: c.counter,
      transports: c.transports,
      added: this.logins.now(),
    });
    return c.id;
  }

  /** Options for the browser to sign in with any passkey of this site (discoverable), and the challenge's token. */
  async loginOptions(site: PageSite) {
    const options = await generateAuthenticationOptions({ rpID: site.rpID, userVerification: 'preferred' });
    return { options, challenge: this.waiting(this.logins.challenge(options.challenge)) };
  }

  /** A session for the passkey's name and role, once the browser's signed answer checks out; throws why not. */
  async login(site: PageSite, challengeToken: string, answer: unknown) {
    const expectedChallenge = this.logins.takeChallenge(challengeToken);
    if (!expectedChallenge) throw new Error('the sign-in request expired or was used: try again');
    const response = answer as AuthenticationResponseJSON;
    const id = typeof response?.id === 'string' ? response.id : '';
    const all = this.logins.passkeys();
    const key = Object.hasOwn(all, id) ? all[id] : undefined;
    if (!key || key.rpID !== site.rpID) throw new Error('this passkey is not known here');
    const v = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: site.origin,
      expectedRPID: site.rpID,
      credential: {
        id,
        publicKey: Buffer.from(key.publicKey, 'base64url'),
        counter: key.counter,
        transports: key.transports as never,
      },
      requireUserVerification: false,
    });
    if (!v.verified) throw new Error('the passkey could not be checked');
    this.logins.keepPasskey(id, { ...key, counter: v.authenticationInfo.newCounter });
    return this.logins.open(key);
  }
}
