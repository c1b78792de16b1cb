/**
 * Credentials. Passwords: scrypt (node:crypto, no native build) with a random salt, stored as
 * `scrypt$N$r$p$salt$hash`. Session ids and agent tokens are 256-bit random secrets; the store keeps
 * only their SHA-256 (a high-entropy secret needs no slow hash), so a copy of the database logs nobody in.
 * An agent token is `<node id>.<secret>`: the node id picks the row, the secret is compared in
 * constant time.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 64;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFKC'), salt, KEYLEN, { N: n, r, p, maxmem: 256 * n * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A hash of a random password, compared against when the user does not exist (same time either way). */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const h = stored ?? (await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
  const parts = h.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0)) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64url'), n, r, p);
  return stored !== undefined && expected.length === key.length && timingSafeEqual(expected, key);
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function hashEquals(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A new agent token for a node: give `token` to the agent once, store `hash`. */
export function newAgentToken(nodeId: string): { token: string; hash: string } {
  const secret = newSecret();
  return { token: `${nodeId}.${secret}`, hash: sha256(secret) };
}

export function parseAgentToken(token: string): { nodeId: string; secret: string } | undefined {
  const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { nodeId: m[1]!, secret: m[2]! } : undefined;
}

/**
 * A new API token (MCP over HTTP): `oscope_<token id>.<secret>`. The prefix tells it from an agent token
 * (and lets secret scanners find a leaked one); the id picks the row, the secret is compared in constant time.
 */
export function newApiToken(tokenId: string): { token: string; hash: string } {
  const secret = newSecret();
  return { token: `oscope_${tokenId}.${secret}`, hash: sha256(secret) };
}

export function parseApiToken(token: string): { tokenId: string; secret: string } | undefined {
  const m = /^oscope_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { tokenId: m[1]!, secret: m[2]! } : undefined;
}

/** A readable random password for the first admin account (~128 bits). */
export function newPassword(): string {
  return randomBytes(16).toString('base64url');
}
