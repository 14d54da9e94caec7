import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { and, eq, sql } from "drizzle-orm";
import pino from "pino";
import { insertTenantRow, openTestDatabase, testDatabases } from "../../test/harness.ts";
import type { OpenDatabaseReturnType } from "../db/client.ts";
import { sessionGenerations, tenants } from "../db/schema.ts";
import { revokeSessions, revokeSessionsWithin } from "./sessions.ts";
import { currentGeneration, raiseGeneration, startRevocations, type Revocations } from "./revocations.ts";

const POLL_MS = 50;

/** Waits until `holds` (a poll or two), failing after two seconds. */
async function eventually(holds: () => boolean, what: string) {
  for (const started = Date.now(); !holds(); await sleep(10)) {
    if (Date.now() - started > 2_000) assert.fail(`never: ${what}`);
  }
}

for (const database of testDatabases()) {
  describe(`session revocations on ${database.name}`, () => {
    let opened: OpenDatabaseReturnType;
    // Two API processes on one database: `here` revokes, `elsewhere` learns of it by polling.
    let here: Revocations;
    let elsewhere: Revocations;
    let tenantId: string;

    before(async () => {
      opened = await openTestDatabase(database);
      tenantId = (await insertTenantRow(opened.db, "revoking")).id;
      const parameters = { db: opened.db, logger: pino({ level: "silent" }), tokenLifetimeSeconds: 900 };
      here = await startRevocations({ ...parameters, pollMs: POLL_MS });
      elsewhere = await startRevocations({ ...parameters, pollMs: POLL_MS });
    });
    after(async () => {
      await here.stop();
      await elsewhere.stop();
      await opened.close();
    });

    it("stops a subject's older tokens where it was revoked at once and elsewhere within a poll", async () => {
      const subject = `admin:${randomUUID()}`;
      assert.equal((await currentGeneration(opened.db, tenantId, subject)).generation, 0);
      assert.ok(here.stands(tenantId, subject, 0) && elsewhere.stands(tenantId, subject, 0));

      const raised = await raiseGeneration(opened.db, tenantId, subject);
      here.noteRaise(tenantId, subject, raised);
      assert.equal(raised, 1);
      assert.equal((await currentGeneration(opened.db, tenantId, subject)).generation, 1);
      assert.equal(here.stands(tenantId, subject, 0), false);
      assert.ok(here.stands(tenantId, subject, 1), "a token issued after the revocation stands");
      await eventually(() => !elsewhere.stands(tenantId, subject, 0), "the other process stops the old token");
      assert.ok(elsewhere.stands(tenantId, subject, 1));
      // Another subject of the tenant is untouched.
      assert.ok(elsewhere.stands(tenantId, `user:${randomUUID()}`, 0));

      assert.equal(await raiseGeneration(opened.db, tenantId, subject), 2);
      await eventually(() => !elsewhere.stands(tenantId, subject, 1), "a second raise stops the tokens of the first");
      // A raise older than a token's lifetime (and a minute) is forgotten: its tokens have expired.
      await opened.db
        .update(sessionGenerations)
        .set({ raisedAt: sql`now() - interval '1 hour'` })
        .where(and(eq(sessionGenerations.tenantId, tenantId), eq(sessionGenerations.subject, subject)));
      await eventually(() => elsewhere.stands(tenantId, subject, 0), "an old raise is let go");
    });

    it("revokes the sessions of many subjects in one transaction (a business's members), past a statement's parameters", async () => {
      const subjects = Array.from({ length: 25_000 }, () => `user:${randomUUID()}`);
      await revokeSessions({ db: opened.db, revocations: here }, tenantId, [...subjects, subjects[0]!]);
      const [{ raised }] = (
        await opened.db.execute<{ raised: number }>(
          sql`select count(*)::int as raised from session_generations where tenant_id = ${tenantId} and generation = 1 and subject like 'user:%'`,
        )
      ).rows as [{ raised: number }];
      assert.ok(raised >= subjects.length, `${raised} raised`);
      for (const subject of [subjects[0]!, subjects.at(-1)!]) {
        assert.equal((await currentGeneration(opened.db, tenantId, subject)).generation, 1);
        assert.equal(here.stands(tenantId, subject, 0), false);
      }
    });

    it("leaves a subject's tokens standing when its revocation rolls back, and stops them here once one commits", async () => {
      const subject = `user:${randomUUID()}`;
      await assert.rejects(
        opened.db.transaction(async (tx) => {
          await revokeSessionsWithin(tx, tenantId, [subject]);
          throw new Error("the change failed");
        }),
        /the change failed/,
      );
      await sleep(4 * POLL_MS);
      assert.ok(here.stands(tenantId, subject, 0) && elsewhere.stands(tenantId, subject, 0));
      await revokeSessions({ db: opened.db, revocations: here }, tenantId, subject);
      assert.equal(here.stands(tenantId, subject, 0), false);
      await eventually(() => !elsewhere.stands(tenantId, subject, 0), "the other process reads the raise");
    });

    it("stops every token of a deactivated tenant, and lets them be again when it is reactivated", async () => {
      const subject = `user:${randomUUID()}`;
      const setActive = async (active: boolean, through: Revocations) => {
        await opened.db.update(tenants).set({ active }).where(eq(tenants.id, tenantId));
        through.noteTenantChange(tenantId, active);
      };
      await setActive(false, here);
      assert.equal(here.stands(tenantId, subject, 0), false);
      await eventually(() => !elsewhere.stands(tenantId, subject, 0), "the other process sees the deactivation");
      await setActive(true, elsewhere);
      assert.ok(elsewhere.stands(tenantId, subject, 0));
      await eventually(() => here.stands(tenantId, subject, 0), "and the reactivation");
    });
  });
}
