// AES-256-GCM encryption of instance secrets with a key ring. Each row records
// the key id it was sealed with, so keys rotate without a flag day. The
// additional authenticated data binds a ciphertext to its (instance, name): a
// row copied onto another instance or renamed fails to open.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../config/encryption-keys.ts';
import { SecretDecryptionError, UnknownKeyError } from './errors.ts';

const NONCE_BYTES = 12; // the GCM standard nonce; random per seal, never reused with a key in practice (2^-96)
const TAG_BYTES = 16;

export interface Sealed {
  /** ciphertext || 16-byte auth tag */
  ciphertext: Buffer;
  nonce: Buffer;
  keyId: string;
}

export class SecretBox {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #newest: EncryptionKey;

  constructor(keys: readonly EncryptionKey[]) {
    const newest = keys[0];
    if (!newest) throw new Error('SecretBox needs at least one key');
    for (const k of keys) if (k.key.length !== 32) throw new Error(`key ${k.id} is not 32 bytes`);
    this.#newest = newest;
    this.#keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id new seals use. */
  get currentKeyId(): string {
    return this.#newest.id;
  }

  seal(plaintext: string, aad: string): Sealed {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#newest.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { ciphertext: Buffer.concat([body, cipher.getAuthTag()]), nonce, keyId: this.#newest.id };
  }

  open(sealed: { ciphertext: Uint8Array; nonce: Uint8Array; keyId: string }, aad: string): string {
    const key = this.#keys.get(sealed.keyId);
    if (!key) throw new UnknownKeyError(sealed.keyId, [...this.#keys.keys()]);
    const data = Buffer.from(sealed.ciphertext);
    if (data.length < TAG_BYTES || sealed.nonce.length !== NONCE_BYTES) {
      throw new SecretDecryptionError(`secret ${aad} is malformed (ciphertext or nonce has the wrong length)`, { aad, keyId: sealed.keyId });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (cause) {
      // GCM reports only "Unsupported state or unable to authenticate data":
      // the row was altered, belongs to another (instance, name), or the key
      // listed under this id is not the one that sealed it.
      throw new SecretDecryptionError(
        `secret ${aad} failed authentication with key "${sealed.keyId}": the ciphertext was tampered with or the key is wrong`,
        { aad, keyId: sealed.keyId },
        { cause },
      );
    }
  }
}
