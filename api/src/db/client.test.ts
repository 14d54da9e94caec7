import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { openTestDatabase, testDatabases } from "../../test/harness.ts";
import { MAX_PREPARED_STATEMENTS, type Database, type OpenDatabaseReturnType } from "./client.ts";

// Each variant's text is its own statement; the marker finds this test's among those prepared.
const answerOf = async (tx: Database, variant: number, value: number) =>
  Number(
    (
      await tx.execute<{ answer: number }>(
        sql`select ${value}::integer + ${sql.raw(String(variant))} as answer -- prepare-probe`,
      )
    ).rows[0]!.answer,
  );

/** What this connection holds prepared: all of the API's statements, and this test's probes. */
async function preparedOn(tx: Database) {
  const { rows } = await tx.execute<{ all: string; probes: string }>(
    sql.raw(
      `select count(*) filter (where name like 'pers\\_%') as all,
            count(*) filter (where statement like '%-- prepare-probe') as probes
     from pg_prepared_statements`,
    ),
  );
  return { all: Number(rows[0]!.all), probes: Number(rows[0]!.probes) };
}

/** Whether each probe variant is prepared in the session. */
async function probesPrepared(tx: Database, variants: number[]) {
  const { rows } = await tx.execute<{ statement: string }>(
    sql.raw(`select statement from pg_prepared_statements where statement like '%-- prepare-probe'`),
  );
  return variants.map((variant) => rows.some((row) => row.statement.includes(`+ ${variant} as answer`)));
}

for (const database of testDatabases()) {
  describe(`the database driver on ${database.name}`, () => {
    let opened: OpenDatabaseReturnType;
    before(async () => (opened = await openTestDatabase(database)));
    after(() => opened.close());

    // One transaction holds one connection: pg_prepared_statements shows that connection's. Only
    // PGlite's statements are prepared (see api/src/db/client.ts).
    const onPglite = database.name === "PGlite";
    it(
      onPglite
        ? "prepares a statement with parameters once, then runs it by name"
        : "runs statements unnamed on a server",
      async () => {
        await opened.db.transaction(async (transaction) => {
          const tx = transaction as unknown as Database;
          const before = await preparedOn(tx);
          assert.deepEqual(
            [await answerOf(tx, 1, 1), await answerOf(tx, 1, 41), await answerOf(tx, 1, -1)],
            [2, 42, 0],
          );
          const afterwards = await preparedOn(tx);
          assert.equal(afterwards.probes - before.probes, onPglite ? 1 : 0);
        });
      },
    );

    it("runs a statement whose first Parse failed in an aborted transaction", async () => {
      await assert.rejects(
        opened.db.transaction(async (transaction) => {
          const tx = transaction as unknown as Database;
          await tx.execute(sql`select 1 / ${0}::integer`).catch(() => undefined);
          await answerOf(tx, 2, 1); // refused: the transaction is aborted
        }),
        (error: { cause?: { code?: string } }) => error.cause?.code === "25P02", // in a failed transaction
      );
      assert.equal(await answerOf(opened.db, 2, 5), 7);
    });

    // A connection that fails to take over leaves its statements waiting forever: bounded, not hung.
    it(
      "answers the statements after one that failed (the pool replaces the connection it ran on)",
      { timeout: 20_000 },
      async () => {
        assert.equal(await answerOf(opened.db, 3, 1), 4);
        await assert.rejects(
          opened.db.execute(sql`select 1 / ${0}::integer`),
          (error: { cause?: { code?: string } }) => {
            return error.cause?.code === "22012"; // division by zero
          },
        );
        assert.deepEqual(await Promise.all([answerOf(opened.db, 3, 2), answerOf(opened.db, 4, 2)]), [5, 6]);
        assert.equal(await answerOf(opened.db, 3, 3), 6);
      },
    );

    if (onPglite) {
      it("hands PGlite each statement's messages together, in one call", async () => {
        await answerOf(opened.db, 5, 0); // prepared: from now on Bind, Describe, Execute and Sync
        const execute = PGlite.prototype.execProtocolStream;
        let calls = 0;
        PGlite.prototype.execProtocolStream = function (this: PGlite, ...args: Parameters<typeof execute>) {
          calls += 1;
          return execute.apply(this, args);
        };
        try {
          assert.deepEqual([await answerOf(opened.db, 5, 1), await answerOf(opened.db, 5, 2)], [6, 7]);
          assert.equal(calls, 2);
          await opened.db.transaction(async (tx) => void (await tx.execute(sql`select ${1}::integer`)));
          assert.equal(calls, 5); // BEGIN, the statement (parsed too), COMMIT
        } finally {
          PGlite.prototype.execProtocolStream = execute;
        }
      });

      it(`keeps at most ${MAX_PREPARED_STATEMENTS} statements prepared, closing the one used least lately`, async () => {
        await opened.db.transaction(async (transaction) => {
          const tx = transaction as unknown as Database;
          const kept = 100;
          const once = 101;
          assert.equal(await answerOf(tx, kept, 1), kept + 1);
          assert.equal(await answerOf(tx, once, 1), once + 1);
          // Enough new statements to fill the session, the kept one used again halfway.
          for (let variant = 102; variant < 102 + MAX_PREPARED_STATEMENTS; variant += 1) {
            if (variant === 102 + MAX_PREPARED_STATEMENTS / 2) assert.equal(await answerOf(tx, kept, 2), kept + 2);
            assert.equal(await answerOf(tx, variant, 1), variant + 1);
          }
          assert.equal((await preparedOn(tx)).all, MAX_PREPARED_STATEMENTS);
          assert.deepEqual(await probesPrepared(tx, [kept, once, 101 + MAX_PREPARED_STATEMENTS]), [true, false, true]);
          // The closed one runs again, prepared anew (and closing another).
          assert.equal(await answerOf(tx, once, 2), once + 2);
          assert.deepEqual(await probesPrepared(tx, [kept, once]), [true, true]);
          assert.equal((await preparedOn(tx)).all, MAX_PREPARED_STATEMENTS);
        });
      });

      it("closes a statement to make room inside a failed transaction, and parses it again later", async () => {
        // Fill the session with fresh probes, so that the next new statements close the first ones.
        const first = 2_000;
        for (let variant = first; variant < first + MAX_PREPARED_STATEMENTS; variant += 1) {
          assert.equal(await answerOf(opened.db, variant, 0), variant);
        }
        await assert.rejects(
          opened.db.transaction(async (transaction) => {
            const tx = transaction as unknown as Database;
            await tx.execute(sql`select 1 / ${0}::integer`).catch(() => undefined);
            // Refused; the Close of `first + 1` went ahead of it, in the failed transaction.
            await answerOf(tx, first + MAX_PREPARED_STATEMENTS, 0);
          }),
          (error: { cause?: { code?: string } }) => error.cause?.code === "25P02",
        );
        for (const variant of [first, first + 1]) assert.equal(await answerOf(opened.db, variant, 7), variant + 7);
        assert.equal(
          await answerOf(opened.db, first + MAX_PREPARED_STATEMENTS, 7),
          first + MAX_PREPARED_STATEMENTS + 7,
        );
        assert.equal((await preparedOn(opened.db)).all, MAX_PREPARED_STATEMENTS);
      });
    }
  });
}
