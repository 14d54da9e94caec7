// Sessions: an access token (ES256 JWT) and an opaque refresh token. Refresh tokens are stored
// hashed and rotate on use; presenting a used one again revokes its whole family (RFC 9700 4.14).
import { randomUUID } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Services } from "../http/context.ts";
import { refreshTokens } from "../db/schema.ts";
import { randomSecret, sha256 } from "../crypto/hashing.ts";
import { unauthorized } from "../errors.ts";
import type { TenantPrincipal } from "./principal.ts";
import { isSubjectActive } from "./subjects.ts";

export const sessionSchema = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().meta({ description: "Seconds until the access token expires" }),
    refreshToken: z.string(),
    refreshExpiresIn: z.number().int(),
    level: z.enum(["USER", "BUSINESS", "ADMIN", "SYSTEM"]),
    tenantId: z.uuid(),
    businessId: z.uuid().optional(),
  })
  .meta({ id: "Session" });
export type Session = z.infer<typeof sessionSchema>;

type SessionSubject = Pick<TenantPrincipal, "tenantId" | "level" | "subject" | "businessId">;

async function accessToken(services: Services, subject: SessionSubject) {
  return services.keys.sign({
    sub: subject.subject,
    tenant: subject.tenantId,
    level: subject.level,
    ...(subject.businessId && { business: subject.businessId }),
  });
}

async function storeRefreshToken(services: Services, subject: SessionSubject, familyId: string) {
  const token = randomSecret("pers_rt_");
  await services.db.insert(refreshTokens).values({
    familyId,
    tokenHash: sha256(token),
    tenantId: subject.tenantId,
    level: subject.level,
    subject: subject.subject,
    businessId: subject.businessId ?? null,
    expiresAt: new Date(Date.now() + services.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
  });
  return token;
}

async function session(services: Services, subject: SessionSubject, familyId: string): Promise<Session> {
  const [access, refresh] = await Promise.all([
    accessToken(services, subject),
    storeRefreshToken(services, subject, familyId),
  ]);
  return {
    accessToken: access,
    tokenType: "Bearer",
    expiresIn: services.config.ACCESS_TOKEN_TTL_SECONDS,
    refreshToken: refresh,
    refreshExpiresIn: services.config.REFRESH_TOKEN_TTL_SECONDS,
    level: subject.level,
    tenantId: subject.tenantId,
    ...(subject.businessId && { businessId: subject.businessId }),
  };
}

/** A new session (a new refresh token family) for a proven identity. */
export const startSession = (services: Services, subject: SessionSubject) => session(services, subject, randomUUID());

/** Rotates a refresh token; a reused one revokes its family. Every failure is the same 401. */
export async function refreshSession(services: Services, refreshToken: string): Promise<Session> {
  const refused = unauthorized("The refresh token is invalid, expired or revoked.");
  const { db } = services;
  const [stored] = await db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, sha256(refreshToken)))
    .limit(1);
  if (!stored || stored.revokedAt || stored.expiresAt.getTime() <= Date.now()) throw refused;
  // Claim the token atomically: of two concurrent uses, only one rotates; the other is a reuse.
  const claimed = await db
    .update(refreshTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(refreshTokens.id, stored.id), isNull(refreshTokens.usedAt), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id });
  if (claimed.length === 0) {
    await db.update(refreshTokens).set({ revokedAt: new Date() }).where(eq(refreshTokens.familyId, stored.familyId));
    services.logger.warn(
      { familyId: stored.familyId, subject: stored.subject },
      "refresh token reused: family revoked",
    );
    throw refused;
  }
  const subject: SessionSubject = {
    tenantId: stored.tenantId,
    level: stored.level,
    subject: stored.subject,
    ...(stored.businessId && { businessId: stored.businessId }),
  };
  if (!(await isSubjectActive(services, subject))) throw refused;
  return session(services, subject, stored.familyId);
}
