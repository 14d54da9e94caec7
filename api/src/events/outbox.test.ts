import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { openTestDatabase, testDatabases } from "../../test/harness.ts";
import type { OpenDatabaseReturnType } from "../db/client.ts";
import { platformEvents } from "../db/relaySchema.ts";
import { recordEvents } from "./outbox.ts";

for (const database of testDatabases()) {
  describe(`recording events on ${database.name}`, () => {
    let opened: OpenDatabaseReturnType;
    before(async () => (opened = await openTestDatabase(database)));
    after(() => opened.close());

    it("records many events in one statement, each with its data as given", async () => {
      const awkward = {
        quote: 'say "hi"',
        backslash: "a\\b",
        braces: "{x,y}",
        unicode: "żółw ✓",
        nested: [1, { n: null }],
      };
      const events = Array.from({ length: 120 }, (_, index) => ({
        tenantId: null,
        type: "signer.balance_low" as const,
        data: { index, ...awkward },
      }));
      await recordEvents(opened.db, events);
      const rows = await opened.db
        .select()
        .from(platformEvents)
        .where(eq(platformEvents.type, "signer.balance_low"))
        .orderBy(asc(platformEvents.createdAt));
      assert.equal(rows.length, 120);
      const byIndex = new Map(rows.map((row) => [(row.data as { index: number }).index, row]));
      for (const event of events) {
        const row = byIndex.get(event.data.index);
        assert.deepEqual(row?.data, event.data);
        assert.equal(row?.tenantId, null);
        assert.equal(row?.dispatchedAt, null);
      }
      await recordEvents(opened.db, []); // nothing to record: no statement
    });
  });
}
