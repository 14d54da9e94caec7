import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import {
  createTestTenant,
  insertUser,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../test/harness.ts";
import { countPgliteStatements } from "../../test/pgliteStatements.ts";
import { Problem } from "../errors.ts";
import { users } from "./schema.ts";
import { tenantScope } from "./scope.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`tenant scope on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      [a, b] = [await createTestTenant(api), await createTestTenant(api)];
    });
    after(() => api.close());

    it("finds of one row at once share a query, each with its own copy; later finds read afresh", async () => {
      const { user } = await insertUser(api, a.id, { email: "shared@example.test" });
      const scope = tenantScope(api.services.db, a.id);
      const found = await Promise.all(Array.from({ length: 20 }, () => scope.findShared(users, user.id, "user")));
      for (const row of found) assert.equal(row.email, "shared@example.test");
      found[0]!.email = "changed by one caller";
      assert.equal(found[1]!.email, "shared@example.test");

      await api.services.db.update(users).set({ email: "updated@example.test" }).where(eq(users.id, user.id));
      assert.equal((await scope.findShared(users, user.id, "user")).email, "updated@example.test");
      // Another tenant's scope finding the same id at the same moment gets nothing of it.
      const [mine, theirs] = await Promise.allSettled([
        scope.findShared(users, user.id, "user"),
        tenantScope(api.services.db, b.id).findShared(users, user.id, "user"),
      ]);
      assert.equal(mine.status, "fulfilled");
      assert.equal(theirs.status, "rejected");
      assert.ok((theirs as PromiseRejectedResult).reason instanceof Problem);
      await assert.rejects(scope.findShared(users, randomUUID(), "user"), (error: Problem) => error.status === 404);
    });

    it("finds of different rows at once each get their own row, and only their tenant's", async () => {
      const scope = tenantScope(api.services.db, a.id);
      const mine = await Promise.all(
        Array.from(
          { length: 5 },
          async (_, index) => (await insertUser(api, a.id, { email: `many${index}@a.test` })).user,
        ),
      );
      const { user: theirs } = await insertUser(api, b.id, { email: "theirs@b.test" });
      const results = await Promise.allSettled([
        ...mine.map((user) => scope.findShared(users, user.id, "user")),
        scope.findShared(users, theirs.id, "user"),
        scope.findShared(users, "not-a-uuid", "user"),
        tenantScope(api.services.db, b.id).findShared(users, theirs.id, "user"),
        tenantScope(api.services.db, b.id).findShared(users, mine[0]!.id, "user"),
      ]);
      const found = (index: number) => (results[index] as PromiseFulfilledResult<typeof users.$inferSelect>).value;
      mine.forEach((user, index) => assert.equal(found(index).email, `many${index}@a.test`));
      const notFound = (index: number) =>
        results[index]!.status === "rejected" &&
        (results[index] as PromiseRejectedResult).reason instanceof Problem &&
        (results[index] as PromiseRejectedResult).reason.status === 404;
      assert.ok(notFound(5), "tenant A's scope finds B's user");
      assert.ok(notFound(6), "an id that is not a uuid is found");
      assert.equal(found(7).email, "theirs@b.test");
      assert.ok(notFound(8), "tenant B's scope finds A's user");
    });

    it("lists a page with the total of every matching row, counted apart only when the page is full", async () => {
      const tenant = await createTestTenant(api);
      for (let i = 0; i < 5; i += 1) await insertUser(api, tenant.id);
      const scope = tenantScope(api.services.db, tenant.id);
      const counter = database.name === "PGlite" ? countPgliteStatements(api.services.db) : undefined;
      try {
        // [page, limit] → rows on it, and the statements it takes (a full or an empty page counts).
        const cases = [
          [1, 2, 2, 2],
          [3, 2, 1, 1],
          [1, 5, 5, 2],
          [4, 2, 0, 2],
          [1, 10, 5, 1],
        ] as const;
        for (const [page, limit, rows, statements] of cases) {
          const before = counter?.statements ?? 0;
          const listed = await scope.list(users, { page, limit });
          assert.equal(listed.data.length, rows, `page ${page} of ${limit}`);
          assert.deepEqual(listed.pagination, { page, limit, total: 5 });
          assert.ok(listed.data.every((row) => row.tenantId === tenant.id));
          if (counter) assert.equal(counter.statements - before, statements, `statements for page ${page} of ${limit}`);
        }
        const filtered = await scope.list(users, {
          page: 1,
          limit: 1,
          where: [eq(users.email, "nobody@example.test")],
        });
        assert.deepEqual(filtered.pagination, { page: 1, limit: 1, total: 0 });
      } finally {
        counter?.stop();
      }
    });

    if (database.name === "PGlite") {
      it("makes one statement for finds of one table at once", async () => {
        const scope = tenantScope(api.services.db, a.id);
        const [first, second] = [(await insertUser(api, a.id)).user, (await insertUser(api, a.id)).user];
        const counter = countPgliteStatements(api.services.db);
        try {
          await Promise.all([first, second, first].map((user) => scope.findShared(users, user.id, "user")));
          assert.equal(counter.statements, 1);
        } finally {
          counter.stop();
        }
      });

      it("makes one statement for finds of one row at once", async () => {
        const { user } = await insertUser(api, a.id);
        const scope = tenantScope(api.services.db, a.id);
        const counter = countPgliteStatements(api.services.db);
        try {
          await Promise.all(Array.from({ length: 20 }, () => scope.findShared(users, user.id, "user")));
          assert.equal(counter.statements, 1);
          await scope.findShared(users, user.id, "user");
          assert.equal(counter.statements, 2);
        } finally {
          counter.stop();
        }
      });
    }
  });
}
