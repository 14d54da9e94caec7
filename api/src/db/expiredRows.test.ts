import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import { insertTenantRow, openTestDatabase, testDatabases } from "../../test/harness.ts";
import type { OpenDatabaseReturnType } from "./client.ts";
import { removeExpiredRows } from "./expiredRows.ts";
import { idempotencyKeys } from "./relaySchema.ts";
import { campaignTriggers, refreshTokens, triggerProofUses, triggerSources } from "./schema.ts";

const HOUR = 3_600_000;

for (const database of testDatabases()) {
  describe(`expired rows on ${database.name}`, () => {
    let opened: OpenDatabaseReturnType;
    before(async () => {
      opened = await openTestDatabase(database);
    });
    after(() => opened.close());

    it("removes expired keys, refresh tokens and trigger proofs in batches, and nothing alive", async () => {
      const { db } = opened;
      const now = new Date();
      const ago = (ms: number) => new Date(now.getTime() - ms);
      const tenant = await insertTenantRow(db, "expiring");
      const [trigger] = await db.insert(campaignTriggers).values({ tenantId: tenant.id, name: "t" }).returning();
      const [source] = await db
        .insert(triggerSources)
        .values({ tenantId: tenant.id, type: "QR_CODE", name: "s", triggerId: trigger!.id, secretCiphertext: "x" })
        .returning();
      // Five expired and two alive in each table (the batches of two below take three rounds).
      const keyAges = [25, 26, 27, 48, 100, 1, 23].map((hours) => hours * HOUR);
      await db.insert(idempotencyKeys).values(
        keyAges.map((age, index) => ({
          owner: `${tenant.id}:someone`,
          key: `key-${index}`,
          method: "POST",
          path: "/campaigns/claims",
          requestHash: "h",
          createdAt: ago(age),
        })),
      );
      const expiries = [-1, -2, -3, -24, -700, 1, 720].map((hours) => new Date(now.getTime() + hours * HOUR));
      await db.insert(refreshTokens).values(
        expiries.map((expiresAt) => ({
          familyId: randomUUID(),
          tokenHash: randomUUID(),
          tenantId: tenant.id,
          level: "ADMIN" as const,
          subject: `admin:${randomUUID()}`,
          expiresAt,
        })),
      );
      // A proof expired a minute ago is kept a while yet: a replay checked before it expired may be on its way.
      const justExpired = new Date(now.getTime() - 60_000);
      await db.insert(triggerProofUses).values(
        [...expiries, justExpired].map((expiresAt) => ({
          triggerSourceId: source!.id,
          proofHash: randomUUID(),
          expiresAt,
        })),
      );

      const removed = await removeExpiredRows(db, now, 2);
      assert.deepEqual(removed, { idempotency_keys: 5, refresh_tokens: 5, trigger_proof_uses: 5 });
      const keys = await db
        .select()
        .from(idempotencyKeys)
        .where(eq(idempotencyKeys.owner, `${tenant.id}:someone`));
      assert.deepEqual(keys.map((row) => row.key).sort(), ["key-5", "key-6"]);
      const tokens = await db.select().from(refreshTokens).where(eq(refreshTokens.tenantId, tenant.id));
      assert.equal(tokens.length, 2);
      assert.ok(tokens.every((row) => row.expiresAt > now));
      const proofs = await db.select().from(triggerProofUses);
      assert.equal(proofs.length, 3);
      assert.ok(proofs.every((row) => row.expiresAt >= justExpired));
      assert.deepEqual(await removeExpiredRows(db, now, 2), {}, "nothing left to remove");
      const [{ count }] = (await db.execute<{ count: string }>(sql`select count(*) from idempotency_keys`)).rows as [
        { count: string },
      ];
      assert.equal(Number(count), 2);
    });
  });
}
