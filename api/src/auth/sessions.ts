// Sessions: an access token (ES256 JWT) and an opaque refresh token. Refresh tokens are stored
// hashed and rotate on use; presenting a used one again revokes its whole family (RFC 9700 4.14).
import { randomUUID } from "node:crypto";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database, Transaction } from "../db/client.ts";
import type { Services } from "../http/context.ts";
import { refreshTokens } from "../db/schema.ts";
import { randomSecret, sha256 } from "../crypto/hashing.ts";
import { unauthorized } from "../errors.ts";
import type { TenantPrincipal } from "./principal.ts";
import { currentGeneration, raiseGenerations } from "./revocations.ts";
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

/**
 * Tokens carry the subject's session generation they were issued under: a revocation raises it, and
 * they stop (revocations.ts).
 */
async function accessToken(services: Services, subject: SessionSubject, generation: number) {
  return services.keys.sign({
    sub: subject.subject,
    tenant: subject.tenantId,
    level: subject.level,
    ...(subject.businessId && { business: subject.businessId }),
    gen: generation,
  });
}

async function storeRefreshToken(
  db: Database | Transaction,
  services: Services,
  subject: SessionSubject,
  familyId: string,
  generation: number,
) {
  const token = randomSecret("pers_rt_");
  await db.insert(refreshTokens).values({
    familyId,
    tokenHash: sha256(token),
    tenantId: subject.tenantId,
    level: subject.level,
    subject: subject.subject,
    businessId: subject.businessId ?? null,
    generation,
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

/**
 * A new session (a new refresh token family) for a proven identity. `provenAt` is the database's clock
 * before the proof was checked: a revocation of the subject since then (a new password set while the
 * old one was being verified) may postdate what the proof was checked against, so it refuses.
 */
export async function startSession(services: Services, subject: SessionSubject, provenAt?: Date): Promise<Session> {
  const started = await services.db.transaction(async (tx) => {
    const { generation, raisedAt } = await currentGeneration(tx, subject.tenantId, subject.subject);
    if (provenAt && raisedAt && raisedAt >= provenAt) return undefined;
    return { generation, refresh: await storeRefreshToken(tx, services, subject, randomUUID(), generation) };
  });
  if (!started) throw unauthorized("The credential changed while signing in; sign in again.");
  const access = await accessToken(services, subject, started.generation);
  return sessionOf(services, subject, access, started.refresh);
}

/**
 * Serialises the rotations and revocations of one family (call first inside the transaction): a
 * reuse that revoked the family while a concurrent rotation of it was under way would otherwise miss
 * the token that rotation was about to write, which would stay live.
 */
const lockFamily = (tx: Database, familyId: string) =>
  tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`pers:refresh:${familyId}`}, 0))`);

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
    // A token written after its subject's revocation (by a sign-in or a rotation racing it) is of an
    // older generation: refused, so a revocation need not wait for them.
    const { generation } = await currentGeneration(tx, stored.tenantId, stored.subject);
    if (stored.generation < generation) return undefined;
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
    return { generation, refresh: await storeRefreshToken(tx, services, subject, stored.familyId, generation) };
  });
  if (!rotated) throw refused;
  const access = await accessToken(services, subject, rotated.generation);
  return sessionOf(services, subject, access, rotated.refresh);
}

/**
 * Ends every session of these subjects: on a password change, a deactivation or a key's revocation.
 * Their refresh tokens are revoked, so that none from before comes back to life if a subject is
 * reactivated, and their session generations raised, so that their access tokens already out stop
 * too (on this API process once committed, within SESSION_REVOCATION_POLL_MS on the others).
 */
export async function revokeSessions(
  services: Pick<Services, "db" | "revocations">,
  tenantId: string,
  subjects: string | readonly string[],
): Promise<void> {
  const raised = await services.db.transaction((tx) =>
    revokeSessionsWithin(tx, tenantId, typeof subjects === "string" ? [subjects] : subjects),
  );
  for (const [subject, generation] of raised) services.revocations.noteRaise(tenantId, subject, generation);
}

/**
 * The writes of revokeSessions inside the caller's transaction, with the change that calls for it,
 * so that neither commits without the other, for one subject or many (a business's members) in a few
 * statements; the raised generations. Other processes see them once committed; this one only when
 * its caller notes them, or at its next poll. It takes no lock: a sign-in or rotation racing it
 * reads the generation before the raise and writes tokens of that older generation, which are
 * refused.
 */
export async function revokeSessionsWithin(
  tx: Transaction,
  tenantId: string,
  subjects: readonly string[],
): Promise<Map<string, number>> {
  const ordered = [...new Set(subjects)].sort();
  const raised = new Map<string, number>();
  // Chunks keep each statement under PostgreSQL's 65,535 parameters.
  for (let start = 0; start < ordered.length; start += REVOKED_PER_STATEMENT) {
    const chunk = ordered.slice(start, start + REVOKED_PER_STATEMENT);
    await tx
      .update(refreshTokens)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(refreshTokens.tenantId, tenantId),
          inArray(refreshTokens.subject, chunk),
          isNull(refreshTokens.revokedAt),
        ),
      );
    for (const [subject, generation] of await raiseGenerations(tx, tenantId, chunk)) raised.set(subject, generation);
  }
  return raised;
}

const REVOKED_PER_STATEMENT = 5000;
