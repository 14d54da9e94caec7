// A tenant's own identity provider: its JWTs sign the tenant's users in. Checked with jose against
// the JWKS URL the tenant registered (fetched once and cached per tenant, refetched for an unknown
// kid at most every 30 s) or the one public JWK it registered, with its issuer and audience and
// asymmetric algorithms only: never HS* (its "secret" would be a public key), never none. The JWKS is
// fetched only from a public address (../../outbound/agent.ts) unless private networks are allowed.
import type { Context } from "koa";
import { eq } from "drizzle-orm";
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwtVerify, type JWK, type JWTPayload } from "jose";
import { z } from "zod";
import { tenantScope } from "../../db/scope.ts";
import { tenants } from "../../db/schema.ts";
import type { Config } from "../../config.ts";
import { badRequest, unauthorized, unavailable } from "../../errors.ts";
import { outboundFetch, outboundRefusalOf, processOutboundAgent, withBodyCap } from "../../outbound/agent.ts";
import { projectTenant, type Grant } from "./grants.ts";
import { userSubject } from "./businessContext.ts";
import { userByExternalId } from "./signInUsers.ts";

export const IDP_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

type KeySet = Parameters<typeof jwtVerify>[1];
type TenantIdp = { id: string; jwksUrl: string | null; publicJwk: Record<string, unknown> | null };

/** A key set of a hundred keys or so: more is no JWKS, and would be read into memory whole. */
const JWKS_MAX_BYTES = 128 * 1024;

const remoteKeySets = new Map<string, { url: string; keys: ReturnType<typeof createRemoteJWKSet> }>();

function keySetOf(tenant: TenantIdp, config: Config): KeySet {
  if (tenant.jwksUrl) {
    let cached = remoteKeySets.get(tenant.id);
    if (cached?.url !== tenant.jwksUrl) {
      cached = {
        url: tenant.jwksUrl,
        keys: createRemoteJWKSet(new URL(tenant.jwksUrl), {
          timeoutDuration: 5_000,
          cooldownDuration: 30_000,
          cacheMaxAge: 10 * 60_000,
          // The flag is read at each fetch, the key set being kept across requests.
          [customFetch]: async (url, options) =>
            withBodyCap(
              await outboundFetch(processOutboundAgent(config.OUTBOUND_ALLOW_PRIVATE_NETWORKS))(url, options),
              JWKS_MAX_BYTES,
            ),
        }),
      };
      remoteKeySets.set(tenant.id, cached);
    }
    return cached.keys;
  }
  return createLocalJWKSet({ keys: [tenant.publicJwk as JWK] });
}

/** Errors that are the token's fault; any other (keys unreachable, invalid) is the IdP's or ours. */
const TOKEN_FAULTS = new Set([
  errors.JWTClaimValidationFailed.code,
  errors.JWTExpired.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JWSSignatureVerificationFailed.code,
]);

const idpClaims = z.object({
  sub: z.string().min(1).max(255),
  email: z.email().max(254).optional().catch(undefined),
  email_verified: z.boolean().optional().catch(undefined),
});

export const idpGrant: Grant<"idp"> = async (ctx: Context, request) => {
  const tenantId = projectTenant(ctx);
  const { db, config } = ctx.services;
  const [tenant] = await db
    .select({
      id: tenants.id,
      issuer: tenants.idpIssuer,
      audience: tenants.idpAudience,
      jwksUrl: tenants.idpJwksUrl,
      publicJwk: tenants.idpPublicJwk,
    })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  if (!tenant?.issuer || !tenant.audience || !(tenant.jwksUrl || tenant.publicJwk)) {
    throw badRequest("This tenant has registered no identity provider.");
  }

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(request.token, keySetOf(tenant, config), {
      issuer: tenant.issuer,
      audience: tenant.audience,
      algorithms: IDP_ALGORITHMS,
      requiredClaims: ["sub", "exp"],
      clockTolerance: 30,
    }));
  } catch (error) {
    if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
      throw unauthorized("The identity provider's token is invalid or expired.");
    }
    const refusal = outboundRefusalOf(error);
    if (refusal) {
      ctx.log.warn({ tenantId, reason: refusal.message }, "idp: JWKS URL refused, its address is not public");
      throw unavailable("The identity provider's JWKS URL is at an address the API does not connect to.");
    }
    ctx.log.warn({ err: error, tenantId }, "idp: keys unavailable");
    throw unavailable("The identity provider's keys could not be fetched or are invalid.");
  }
  const claims = idpClaims.safeParse(payload);
  if (!claims.success) throw unauthorized("The identity provider's token has no usable sub.");
  const { sub, email, email_verified } = claims.data;

  const scope = tenantScope(db, tenantId);
  const user = await userByExternalId(
    scope,
    config.MASTER_KEY,
    sub,
    email_verified === false ? undefined : email?.toLowerCase(),
  );
  return userSubject(scope, user.id, request);
};
