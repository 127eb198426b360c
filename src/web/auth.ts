// Who may see the dashboard: one-time login links (made by the CLI through the agent's root socket, or printed by
// `slipway dashboard --invite`) are exchanged for a session cookie. Only hashes are kept, in a root-only file, so
// reading it gives no way in. Each session has its own CSRF token, sent back by the page on every action.
import { createHash, randomBytes } from 'node:crypto';

export type Role = 'admin' | 'read-only';

export interface Grant {
  role: Role;
  /** who: `user@machine` from the CLI, or the name an invite was made for */
  who: string;
  /** ms since the epoch */
  expires: number;
}

export interface WebSession extends Grant {
  csrf: string;
}

/** A passkey, kept by its credential id: who it logs in as, with which role, and for which name (its RP ID). */
export interface Passkey {
  who: string;
  role: Role;
  rpID: string;
  /** the credential's COSE public key, base64url */
  publicKey: string;
  counter: number;
  transports?: string[];
  /** ms since the epoch */
  added: number;
}

/** A WebAuthn challenge waiting for its answer: to add a passkey (for a session) or to log in with one. */
export interface Challenge {
  challenge: string;
  expires: number;
  /** the session a passkey is added for (its hash), absent for a login */
  session?: string;
}

export interface Tokens {
  links: Record<string, Grant>;
  sessions: Record<string, WebSession>;
  passkeys?: Record<string, Passkey>;
  challenges?: Record<string, Challenge>;
}

/** A link from the terminal is used at once; an invite waits a day. A session lasts a working day. */
export const LINK_TTL_MS = 10 * 60_000;
export const INVITE_TTL_MS = 24 * 3600_000;
export const SESSION_TTL_MS = 12 * 3600_000;
/** a passkey ceremony is a few seconds of the user touching their key */
export const CHALLENGE_TTL_MS = 2 * 60_000;
/** challenges waiting at once, at most: each is a line of the tokens file, rewritten on every change */
export const MAX_CHALLENGES = 100;

const hash = (token: string) => createHash('sha256').update(token).digest('base64url');
const newToken = () => randomBytes(32).toString('base64url');

/** A name shown beside what its holder did: printable, short, no markup. */
export function whoProblem(who: string): string | undefined {
  if (!/^[\p{L}\p{N}._@+-][\p{L}\p{N} ._@+()-]{0,63}$/u.test(who))
    return 'a name is 1 to 64 letters, digits, spaces or . _ @ + - ( )';
  return undefined;
}

export class Logins {
  constructor(
    private readonly load: () => Tokens,
    private readonly save: (t: Tokens) => void,
    readonly now: () => number = Date.now,
  ) {}

  /** A one-time login link's token. */
  link(role: Role, who: string, ttlMs = LINK_TTL_MS): string {
    const token = newToken();
    this.change((t) => {
      t.links[hash(token)] = { role, who, expires: this.now() + ttlMs };
    });
    return token;
  }

  /** Exchange a link's token (once) for a session: its cookie token and the session. */
  redeem(linkToken: string): { token: string; session: WebSession } | undefined {
    let grant: Grant | undefined;
    this.change((t) => {
      const key = hash(linkToken);
      grant = t.links[key];
      delete t.links[key];
    });
    return grant && grant.expires > this.now() ? this.open(grant) : undefined;
  }

  /** A new session for who, as role: its cookie token and the session. */
  open(grant: Pick<Grant, 'who' | 'role'>): { token: string; session: WebSession } {
    const token = newToken();
    const session = { role: grant.role, who: grant.who, expires: this.now() + SESSION_TTL_MS, csrf: newToken() };
    this.change((t) => {
      t.sessions[hash(token)] = session;
    });
    return { token, session };
  }

  /**
   * A challenge kept until it is answered or expires (one use): the token that names it. Anyone may ask for a sign-in
   * challenge, so only so many wait at once: undefined when that many do.
   */
  challenge(challenge: string, sessionToken?: string): string | undefined {
    const token = newToken();
    const session = sessionToken === undefined ? undefined : hash(sessionToken);
    let kept = false;
    this.change((t) => {
      const waiting = Object.values(t.challenges ?? {}).filter((c) => c.expires > this.now());
      if (waiting.length >= MAX_CHALLENGES) return;
      t.challenges = { ...t.challenges, [hash(token)]: { challenge, expires: this.now() + CHALLENGE_TTL_MS, session } };
      kept = true;
    });
    return kept ? token : undefined;
  }

  /** The challenge a token names, taken (it cannot be answered twice); for sessionToken's ceremony only. */
  takeChallenge(token: string, sessionToken?: string): string | undefined {
    let c: Challenge | undefined;
    const key = hash(token);
    this.change((t) => {
      c = t.challenges?.[key];
      delete t.challenges?.[key];
    });
    const session = sessionToken === undefined ? undefined : hash(sessionToken);
    return c && c.expires > this.now() && c.session === session ? c.challenge : undefined;
  }

  passkeys(): Record<string, Passkey> {
    return this.load().passkeys ?? {};
  }

  keepPasskey(id: string, key: Passkey): void {
    this.change((t) => {
      t.passkeys = { ...t.passkeys, [id]: key };
    });
  }

  forgetPasskey(id: string): void {
    this.change((t) => {
      delete t.passkeys?.[id];
    });
  }

  session(token: string | undefined): WebSession | undefined {
    if (!token) return undefined;
    const s = this.load().sessions[hash(token)];
    return s && s.expires > this.now() ? s : undefined;
  }

  logout(token: string): void {
    this.change((t) => {
      delete t.sessions[hash(token)];
    });
  }

  /** Every change also drops what has expired, so the file stays small. */
  private change(fn: (t: Tokens) => void): void {
    const t = this.load();
    fn(t);
    const now = this.now();
    for (const kind of ['links', 'sessions', 'challenges'] as const)
      for (const [k, v] of Object.entries(t[kind] ?? {})) if (v.expires <= now) delete t[kind]![k];
    this.save(t);
  }
}
