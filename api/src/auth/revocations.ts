// Access tokens are checked by their signature, so ending a subject's sessions (a new password, a
// deactivation, a key's revocation: sessions.ts revokeSessions) or deactivating a tenant would leave
// the access tokens already out working for the rest of their lifetime. Instead each subject has a
// session generation that every revocation raises, and an access token carries the one it was
// issued under (claim `gen`): it stands while that is still the subject's and its tenant is active.
// Requests must not pay a database read for this, so each API process keeps in memory the raises of
// the last token lifetime (a token older than that has expired anyway) and the inactive tenants, and
// reads both again every SESSION_REVOCATION_POLL_MS: two statements a poll, however many requests.
// A revocation made by this process takes effect here at once; made by another, within that while.
import { and, eq, gt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Database, Transaction } from "../db/client.ts";
import { runEvery } from "../db/periodic.ts";
import { sessionGenerations, tenants } from "../db/schema.ts";

export type Revocations = {
  /** Whether an access token of this tenant and subject, issued under `generation`, still stands. */
  stands: (tenantId: string, subject: string, generation: number) => boolean;
  /** A raise this process made (committed), in force here before the next poll reads it. */
  noteRaise: (tenantId: string, subject: string, generation: number) => void;
  /** A tenant this process activated or deactivated (committed), in force here at once. */
  noteTenantChange: (tenantId: string, active: boolean) => void;
  stop: () => Promise<void>;
};

/** The subject's session generation now (what a token issued now carries), and when it was raised. */
export async function currentGeneration(
  db: Database | Transaction,
  tenantId: string,
  subject: string,
): Promise<{ generation: number; raisedAt: Date | null }> {
  const [row] = await db
    .select({ generation: sessionGenerations.generation, raisedAt: sessionGenerations.raisedAt })
    .from(sessionGenerations)
    .where(and(eq(sessionGenerations.tenantId, tenantId), eq(sessionGenerations.subject, subject)));
  return row ?? { generation: 0, raisedAt: null };
}

/** The database's clock: what raises are compared with (their raisedAt is the database's too). */
export async function databaseNow(db: Database): Promise<Date> {
  const { rows } = await db.execute<{ now: Date | string }>(sql`select now() as now`);
  return new Date(rows[0]!.now);
}

/** Raises the subject's generation (inside the revoking transaction); the new generation. */
export async function raiseGeneration(db: Database | Transaction, tenantId: string, subject: string): Promise<number> {
  return (await raiseGenerations(db, tenantId, [subject])).get(subject)!;
}

/** Raises each subject's generation in one statement; the new generation of each. */
export async function raiseGenerations(
  db: Database | Transaction,
  tenantId: string,
  subjects: readonly string[],
): Promise<Map<string, number>> {
  if (!subjects.length) return new Map();
  const rows = await db
    .insert(sessionGenerations)
    .values([...new Set(subjects)].map((subject) => ({ tenantId, subject, generation: 1 })))
    .onConflictDoUpdate({
      target: [sessionGenerations.tenantId, sessionGenerations.subject],
      set: { generation: sql`${sessionGenerations.generation} + 1`, raisedAt: sql`now()` },
    })
    .returning({ subject: sessionGenerations.subject, generation: sessionGenerations.generation });
  return new Map(rows.map((row) => [row.subject, row.generation]));
}

const subjectKey = (tenantId: string, subject: string) => `${tenantId} ${subject}`;

/** Reads the raises and inactive tenants now, then again every pollMs until stopped. */
export async function startRevocations({
  db,
  logger,
  tokenLifetimeSeconds,
  pollMs,
}: {
  db: Database;
  logger: Logger;
  tokenLifetimeSeconds: number;
  pollMs: number;
}): Promise<Revocations> {
  // A raise is kept a minute past the token lifetime: clocks of API processes and database differ.
  const keptForMs = (tokenLifetimeSeconds + 60) * 1000;
  let raises = new Map<string, number>();
  let inactiveTenants = new Set<string>();
  // This process's own changes, applied over a poll that may have read from before them (a poll
  // that started after one has read it: each is committed before it is recorded here).
  const ownRaises = new Map<string, { generation: number; at: number }>();
  const tenantChanges = new Map<string, { active: boolean; at: number }>();

  async function poll() {
    const startedAt = Date.now();
    const [raisedRows, inactiveRows] = await Promise.all([
      db
        .select({
          tenantId: sessionGenerations.tenantId,
          subject: sessionGenerations.subject,
          generation: sessionGenerations.generation,
        })
        .from(sessionGenerations)
        .where(gt(sessionGenerations.raisedAt, sql`now() - make_interval(secs => ${keptForMs / 1000})`)),
      db.select({ id: tenants.id }).from(tenants).where(eq(tenants.active, false)),
    ]);
    const polledRaises = new Map(raisedRows.map((row) => [subjectKey(row.tenantId, row.subject), row.generation]));
    for (const [key, own] of ownRaises) {
      if (own.at < startedAt) ownRaises.delete(key);
      else polledRaises.set(key, Math.max(own.generation, polledRaises.get(key) ?? 0));
    }
    raises = polledRaises;
    const inactive = new Set(inactiveRows.map((row) => row.id));
    for (const [tenantId, change] of tenantChanges) {
      if (change.at < startedAt) tenantChanges.delete(tenantId);
      else inactive[change.active ? "delete" : "add"](tenantId);
    }
    inactiveTenants = inactive;
  }

  await poll();
  const polling = runEvery(pollMs, () =>
    poll().catch((error: unknown) => logger.error({ err: error }, "reading session revocations failed")),
  );
  return {
    stands: (tenantId, subject, generation) =>
      !inactiveTenants.has(tenantId) && generation >= (raises.get(subjectKey(tenantId, subject)) ?? 0),
    noteRaise: (tenantId, subject, generation) => {
      const key = subjectKey(tenantId, subject);
      ownRaises.set(key, { generation, at: Date.now() });
      raises.set(key, Math.max(generation, raises.get(key) ?? 0));
    },
    noteTenantChange: (tenantId, active) => {
      tenantChanges.set(tenantId, { active, at: Date.now() });
      inactiveTenants[active ? "delete" : "add"](tenantId);
    },
    stop: polling.stop,
  };
}
