// The API's ES256 signing keys. The newest key signs; a key older than the rotation period is
// replaced on the next signature; the JWKS publishes every key that may still have live tokens
// (created within rotation period + token lifetime), so rotation never breaks a token.
import { randomUUID } from "node:crypto";
import { desc, gte, or, eq } from "drizzle-orm";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyResult,
} from "jose";
import type { Database } from "../db/client.ts";
import { signingKeys } from "../db/schema.ts";
import { open, seal } from "../crypto/secretBox.ts";

export const ACCESS_TOKEN_TYPE = "at+jwt";
const ALGORITHM = "ES256";
/** An unknown kid reloads the keys from the database at most this often, so random kids cannot flood it. */
const FORCED_RELOAD_INTERVAL_MS = 1_000;
const VERIFIED_CACHE_SIZE = 10_000;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

export type KeyStoreOptions = {
  db: Database;
  masterKey: Buffer;
  rotationSeconds: number;
  tokenLifetimeSeconds: number;
  issuer: string;
  audience: string;
  now?: () => number;
};

export type KeyStore = ReturnType<typeof createKeyStore>;

export function createKeyStore({
  db,
  masterKey,
  rotationSeconds,
  tokenLifetimeSeconds,
  issuer,
  audience,
  now = Date.now,
}: KeyStoreOptions) {
  let signer: { kid: string; key: PrivateKey; createdAt: number } | undefined;
  let published: { jwks: JSONWebKeySet; verify: ReturnType<typeof createLocalJWKSet>; loadedAt: number } | undefined;
  let lastForcedReload = Number.NEGATIVE_INFINITY;

  async function rotate() {
    const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: "sig" };
    const privateJwk = JSON.stringify(await exportJWK(privateKey));
    await db.insert(signingKeys).values({
      kid,
      publicJwk,
      privateKeyCiphertext: seal(masterKey, privateJwk, `signing-key:${kid}`),
      createdAt: new Date(now()),
    });
    signer = { kid, key: privateKey, createdAt: now() };
    published = undefined;
  }

  async function currentSigner() {
    if (signer && now() - signer.createdAt < rotationSeconds * 1000) return signer;
    const [newest] = await db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt)).limit(1);
    if (newest && now() - newest.createdAt.getTime() < rotationSeconds * 1000) {
      const privateJwk = JSON.parse(open(masterKey, newest.privateKeyCiphertext, `signing-key:${newest.kid}`)) as JWK;
      signer = {
        kid: newest.kid,
        key: (await importJWK(privateJwk, ALGORITHM)) as PrivateKey,
        createdAt: newest.createdAt.getTime(),
      };
      return signer;
    }
    await rotate();
    return signer!;
  }

  /** The keys whose tokens may still be alive, newest first. */
  async function jwks(): Promise<JSONWebKeySet> {
    if (published && now() - published.loadedAt < 10_000) return published.jwks;
    await currentSigner();
    const horizon = new Date(now() - (rotationSeconds + tokenLifetimeSeconds) * 1000);
    const rows = await db
      .select({ publicJwk: signingKeys.publicJwk })
      .from(signingKeys)
      .where(or(gte(signingKeys.createdAt, horizon), eq(signingKeys.kid, signer!.kid)))
      .orderBy(desc(signingKeys.createdAt));
    const set = { keys: rows.map((row) => row.publicJwk as JWK) };
    published = { jwks: set, verify: createLocalJWKSet(set), loadedAt: now() };
    return set;
  }

  async function sign(claims: JWTPayload & { sub: string }, lifetimeSeconds = tokenLifetimeSeconds) {
    const { kid, key } = await currentSigner();
    const issuedAt = Math.floor(now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key);
  }

  /** Verifies an access token: ES256 only, one of the published keys, issuer, audience, type, time. */
  // Tokens already verified, until they expire: an ES256 verification costs more than the rest of
  // a typical request. Only successes are kept, and each hit is checked against the clock again.
  const verified = new Map<string, JWTVerifyResult>();
  const remember = (token: string, result: JWTVerifyResult) => {
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(token, result);
    return result;
  };

  async function verify(token: string): Promise<JWTVerifyResult> {
    const known = verified.get(token);
    if (known && (known.payload.exp ?? 0) * 1000 > now()) return known;
    if (known) verified.delete(token);
    await jwks();
    const options = {
      issuer,
      audience,
      algorithms: [ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      currentDate: new Date(now()),
      requiredClaims: ["sub", "exp", "iat", "nbf"],
    };
    try {
      return remember(token, await jwtVerify(token, published!.verify, options));
    } catch (error) {
      // A key made by another API process since we last looked: reload once, at most once a second.
      if ((error as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") throw error;
      if (now() - lastForcedReload < FORCED_RELOAD_INTERVAL_MS) throw error;
      lastForcedReload = now();
      published = undefined;
      await jwks();
      return remember(token, await jwtVerify(token, published!.verify, options));
    }
  }

  return { sign, verify, jwks, rotate };
}
