// Sign-In with Ethereum (EIP-4361): the client asks POST /auth/nonce for a nonce, puts it in the
// message its wallet signs, and sends message and signature to POST /auth/token. The nonce belongs
// to the tenant, lives SIWE_NONCE_TTL_SECONDS and is consumed atomically, so a message works once.
import { randomBytes } from "node:crypto";
import { eq, gt, isNull, lt } from "drizzle-orm";
import type { Context } from "koa";
import { BaseError, getAddress, HttpRequestError, TimeoutError, verifyMessage, type Hex } from "viem";
import { parseSiweMessage, validateSiweMessage, verifySiweMessage } from "viem/siwe";
import { scopeOf, tenantScope } from "../../db/scope.ts";
import { siweNonces, tenants } from "../../db/schema.ts";
import { badRequest, unauthorized, unavailable } from "../../errors.ts";
import { projectTenant, type Grant } from "./grants.ts";
import { userSubject } from "./businessContext.ts";
import { userByWallet } from "./signInUsers.ts";

/** How far in the future a message's Issued At may be (clocks differ). */
const CLOCK_SKEW_MS = 60_000;

/** A fresh nonce for the caller's tenant; expired ones of the tenant are cleared on the way. */
export async function issueNonce(ctx: Context) {
  const scope = scopeOf(ctx);
  const now = new Date();
  // 128 random bits as 32 hex digits: EIP-4361 nonces are at least 8 alphanumeric characters.
  const nonce = randomBytes(16).toString("hex");
  const expiresAt = new Date(now.getTime() + ctx.services.config.SIWE_NONCE_TTL_SECONDS * 1000);
  await scope.db.delete(siweNonces).where(scope.where(siweNonces, lt(siweNonces.expiresAt, now)));
  await scope.insert(siweNonces, { nonce, expiresAt });
  return { nonce, expiresAt: expiresAt.toISOString() };
}

const isUnreachable = (error: unknown) =>
  error instanceof BaseError &&
  Boolean(error.walk((cause) => cause instanceof HttpRequestError || cause instanceof TimeoutError));

/**
 * An externally owned account's signature is checked here; anything else (a contract wallet,
 * ERC-1271 or ERC-6492) on the tenant's chain with viem's verifySiweMessage when the API has it.
 */
async function signatureIsValid(ctx: Context, chainId: number, message: string, signature: Hex, address: Hex) {
  const eoa = await verifyMessage({ address, message, signature }).catch(() => false);
  if (eoa) return true;
  const chain = ctx.services.chains.get(chainId);
  if (!chain) return false;
  try {
    return await verifySiweMessage(chain.publicClient, { message, signature, address });
  } catch (error) {
    if (!isUnreachable(error)) return false;
    ctx.log.warn({ err: error, chainId }, "siwe: chain unreachable for a contract wallet's signature");
    throw unavailable(`Chain ${chainId} could not be reached to verify a contract wallet's signature.`);
  }
}

/**
 * The domains a message may name: SIWE_DOMAINS, or else this machine's names at the port the API
 * listens on. Never the request's Host or X-Forwarded-Host: a phishing site would relay its
 * victim's message for its own domain with a Host naming that domain.
 */
function allowedDomains(ctx: Context) {
  const { SIWE_DOMAINS, API_PORT } = ctx.services.config;
  if (SIWE_DOMAINS) return SIWE_DOMAINS;
  // The socket's own port: API_PORT may be 0 (any free port).
  const port = ctx.req.socket.localPort ?? API_PORT;
  return [`localhost:${port}`, `127.0.0.1:${port}`];
}

export const siweGrant: Grant<"siwe"> = async (ctx, request) => {
  const tenantId = projectTenant(ctx);
  const { db, config } = ctx.services;
  const parsed = parseSiweMessage(request.message);
  const { address, domain, nonce, chainId, issuedAt } = parsed;
  if (!address || !domain || !nonce || !parsed.uri || !parsed.version || !chainId || !issuedAt) {
    throw badRequest(
      "message is not an EIP-4361 message: it needs a domain, address, URI, version, chain id, nonce and issued-at time.",
    );
  }
  const [tenant] = await db.select({ chainId: tenants.chainId }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw unauthorized("Unknown project key.");

  const now = new Date();
  const domains = allowedDomains(ctx);
  if (!domains.includes(domain))
    throw unauthorized(`The message is for ${domain}; sign in to ${domains.join(" or ")}.`);
  if (chainId !== tenant.chainId) {
    throw unauthorized(`The message names chain ${chainId}; this tenant is on chain ${tenant.chainId}.`);
  }
  if (Number.isNaN(issuedAt.getTime()) || issuedAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw unauthorized("The message's Issued At is not a valid time in the past.");
  }
  // Version 1, a well-formed nonce and address, and Expiration Time / Not Before around now.
  if (!validateSiweMessage({ message: parsed, time: now })) {
    throw unauthorized("The message is expired, not yet valid or malformed.");
  }

  const scope = tenantScope(db, tenantId);
  const usable = scope.where(
    siweNonces,
    eq(siweNonces.nonce, nonce),
    isNull(siweNonces.usedAt),
    gt(siweNonces.expiresAt, now),
  );
  const nonceRefused = unauthorized("The nonce is unknown, used or expired: ask POST /auth/nonce for a new one.");
  // A cheap look first, so that a stale nonce costs no signature check on the chain.
  const [known] = await db.select({ nonce: siweNonces.nonce }).from(siweNonces).where(usable).limit(1);
  if (!known) throw nonceRefused;
  if (!(await signatureIsValid(ctx, tenant.chainId, request.message, request.signature, address))) {
    throw unauthorized("The signature does not match the message's address.");
  }
  // Consumed atomically: of two requests with the same message, one signs in.
  const consumed = await db
    .update(siweNonces)
    .set({ usedAt: now })
    .where(usable)
    .returning({ nonce: siweNonces.nonce });
  if (consumed.length === 0) throw nonceRefused;

  const user = await userByWallet(scope, config.MASTER_KEY, getAddress(address));
  return userSubject(scope, user.id, request);
};
