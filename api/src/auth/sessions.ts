// Sessions: an access token (ES256 JWT) and an opaque refresh token. Refresh tokens are stored
// hashed and rotate on use; presenting a used one again revokes its whole family (RFC 9700 4.14).
import { randomUUID } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client.ts";
import type { Services } from "../http/context.ts";
import { refreshTokens } from "../db/schema.ts";
import { randomSecret, sha256 } from "../crypto/hashing.ts";
import { unauthorized } from "../errors.ts";
import type { TenantPrincipal } from "./principal.ts";
import { currentGeneration, raiseGeneration } from "./revocations.ts";
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
    // The subject's session generation: a revocation raises it, and this token stops (revocations.ts).
    gen: await currentGeneration(services.db, subject.tenantId, subject.subject),
  });
}

async function storeRefreshToken(db: Database, services: Services, subject: SessionSubject, familyId: string) {
  const token = randomSecret("pers_rt_");
  await db.insert(refreshTokens).values({
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

function sessionOf(services: Services, subject: SessionSubject, access: string, refresh: string): Session {
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
export async function startSession(services: Services, subject: SessionSubject): Promise<Session> {
  const [access, refresh] = await Promise.all([
    accessToken(services, subject),
    storeRefreshToken(services.db, services, subject, randomUUID()),
  ]);
  return sessionOf(services, subject, access, refresh);
}

/**
 * Serialises the rotations and revocations of one family (call first inside the transaction): a
 * reuse that revoked the family while a concurrent rotation of it was under way would otherwise miss
 * the token that rotation was about to write, which would stay live.
 */
const lockFamily = (tx: Database, familyId: string) =>
  tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`pers:refresh:${familyId}`}, 0))`);

/**
 * Rotations of a subject's tokens take this lock shared, revokeSessions exclusive: a revocation
 * waits for the rotations under way (and then revokes what they wrote), and a rotation after it
 * finds its token revoked.
 */
const subjectLockKey = (tenantId: string, subject: string) => `pers:sessions:${tenantId}:${subject}`;

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
  const subject: SessionSubject = {
    tenantId: stored.tenantId,
    level: stored.level,
    subject: stored.subject,
    ...(stored.businessId && { businessId: stored.businessId }),
  };
  if (!(await isSubjectActive(services, subject))) throw refused;
  const rotated = await db.transaction(async (tx) => {
    await lockFamily(tx, stored.familyId);
    await tx.execute(
      sql`select pg_advisory_xact_lock_shared(hashtextextended(${subjectLockKey(stored.tenantId, stored.subject)}, 0))`,
    );
    const [current] = await tx
      .select({ usedAt: refreshTokens.usedAt, revokedAt: refreshTokens.revokedAt })
      .from(refreshTokens)
      .where(eq(refreshTokens.id, stored.id));
    if (!current || current.revokedAt) return undefined;
    if (current.usedAt) {
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(refreshTokens.familyId, stored.familyId), isNull(refreshTokens.revokedAt)));
      services.logger.warn(
        { familyId: stored.familyId, subject: stored.subject },
        "refresh token reused: family revoked",
      );
      return undefined;
    }
    await tx.update(refreshTokens).set({ usedAt: new Date() }).where(eq(refreshTokens.id, stored.id));
    return storeRefreshToken(tx as unknown as Database, services, subject, stored.familyId);
  });
  if (!rotated) throw refused;
  return sessionOf(services, subject, await accessToken(services, subject), rotated);
}

/**
 * Ends every session of a subject: on a password change, a deactivation or a key's revocation. Its
 * refresh tokens are revoked, so that none from before comes back to life if the subject is
 * reactivated, and its session generation raised, so that its access tokens already out stop too
 * (at once on this API process, within SESSION_REVOCATION_POLL_MS on the others).
 */
export async function revokeSessions(
  { db, revocations }: Pick<Services, "db" | "revocations">,
  tenantId: string,
  subject: string,
): Promise<void> {
  const generation = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${subjectLockKey(tenantId, subject)}, 0))`);
    await tx
      .update(refreshTokens)
      .set({ revokedAt: new Date() })
      .where(
        and(eq(refreshTokens.tenantId, tenantId), eq(refreshTokens.subject, subject), isNull(refreshTokens.revokedAt)),
      );
    return raiseGeneration(tx, tenantId, subject);
  });
  revocations.raised(tenantId, subject, generation);
}
