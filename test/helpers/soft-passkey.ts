// A passkey in software, for the dashboard's unit tests: a P-256 key answering WebAuthn's create() and get() as an
// authenticator would (attestation "none"), so the server's ceremonies run end to end with no browser. Its answers
// can be made for another origin or RP ID, to see them refused.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const b64url = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url');

export class SoftPasskey {
  private readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly id = b64url(randomBytes(16));
  private count = 0;

  constructor(
    private readonly origin: string,
    private readonly rpID: string,
  ) {}

  /** navigator.credentials.create()'s answer, as PublicKeyCredential.toJSON() gives it */
  create(options: { challenge: string }, at: { origin?: string; rpID?: string } = {}) {
    const clientData = this.clientData('webauthn.create', options.challenge, at.origin);
    const authData = this.authData(at.rpID, true);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]) as never,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientData), attestationObject: b64url(attestationObject), transports: [] },
    };
  }

  /** navigator.credentials.get()'s answer */
  get(options: { challenge: string }, at: { origin?: string; rpID?: string } = {}) {
    const clientData = this.clientData('webauthn.get', options.challenge, at.origin);
    const authData = this.authData(at.rpID, false);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.key.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
      },
    };
  }

  private clientData(type: string, challenge: string, origin = this.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** rpIdHash, flags (user present and verified; attested credential data when made), the sign count, the key */
  private authData(rpID = this.rpID, made: boolean): Buffer {
    this.count += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.count);
    const head = Buffer.concat([sha256(rpID), Buffer.from([0x01 | 0x04 | (made ? 0x40 : 0)]), counter]);
    if (!made) return head;
    const id = Buffer.from(this.id, 'base64url');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(id.length);
    return Buffer.concat([head, Buffer.alloc(16), length, id, this.coseKey()]);
  }

  private coseKey(): Buffer {
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    const cose = new Map<number, unknown>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]);
    return Buffer.from(isoCBOR.encode(cose as never));
  }
}
