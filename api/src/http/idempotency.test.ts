import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { and, eq } from "drizzle-orm";
import { businessTypes } from "../db/schema.ts";
import { idempotencyKeys } from "../db/relaySchema.ts";
import {
  createTestTenant,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../test/harness.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`Idempotency-Key under concurrency on ${database.name}`, () => {
    let api: TestApi;
    let tenant: TestTenant;
    before(async () => {
      api = await startTestApiOn(database, { chain });
      tenant = await createTestTenant(api);
    });
    after(() => api.close());

    const create = (name: string, key: string) =>
      api.request("POST", "/business-types", {
        token: tenant.adminToken,
        headers: { "idempotency-key": key },
        body: { name },
      });

    it("30 simultaneous repeats of one request make one business type; the others replay it or are told it is in flight", async () => {
      const answers = await Promise.all(Array.from({ length: 30 }, () => create("Bakery", "same-key")));
      const made = await api.services.db
        .select()
        .from(businessTypes)
        .where(and(eq(businessTypes.tenantId, tenant.id), eq(businessTypes.name, "Bakery")));
      assert.equal(made.length, 1);
      for (const answer of answers) {
        if (answer.status === 201) assert.equal(answer.body.id, made[0]!.id);
        else assert.equal(answer.status, 409, answer.text);
      }
      assert.equal(
        answers.filter((answer) => answer.status === 201 && !answer.headers.get("idempotent-replayed")).length,
        1,
      );
      const later = await create("Bakery", "same-key");
      assert.equal(later.status, 201);
      assert.equal(later.body.id, made[0]!.id);
      assert.equal(later.headers.get("idempotent-replayed"), "true");
    });

    it("30 simultaneous requests with their own keys each make their own and keep their own answer", async () => {
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => create(`Shop ${i}`, `own-${i}`)));
      assert.deepEqual(
        answers.map((answer) => answer.status),
        answers.map(() => 201),
      );
      assert.equal(new Set(answers.map((answer) => answer.body.id)).size, 30);
      const kept = await api.services.db
        .select()
        .from(idempotencyKeys)
        .where(eq(idempotencyKeys.path, "/business-types"));
      for (const [i, answer] of answers.entries()) {
        const row = kept.find((row) => row.key === `own-${i}`);
        assert.equal(row?.status, 201);
        assert.equal((row?.body as { id: string }).id, answer.body.id, `own-${i} keeps its own answer`);
      }
    });
  });
}
