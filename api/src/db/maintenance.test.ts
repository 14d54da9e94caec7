import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { openDatabase, type OpenDatabaseReturnType } from "./client.ts";
import { maintainNextTable, maintenanceDue, type TableActivity } from "./maintenance.ts";

const activity = (changes: Partial<TableActivity>): TableActivity => ({
  rows: 1000,
  deadRows: 0,
  insertedSinceVacuum: 0,
  modifiedSinceAnalyze: 0,
  transactionIdAge: 1000,
  ...changes,
});

describe("table maintenance on PGlite (no autovacuum of its own)", () => {
  it("is due where autovacuum's default thresholds would be crossed", () => {
    // 1000 rows: vacuum past 50 + 200 dead rows or 1000 + 200 inserts, analyze past 50 + 100 changes.
    assert.deepEqual(maintenanceDue(activity({ deadRows: 250 })), { vacuum: false, analyze: false });
    assert.deepEqual(maintenanceDue(activity({ deadRows: 251 })), { vacuum: true, analyze: false });
    assert.deepEqual(maintenanceDue(activity({ insertedSinceVacuum: 1200 })), { vacuum: false, analyze: false });
    assert.deepEqual(maintenanceDue(activity({ insertedSinceVacuum: 1201 })), { vacuum: true, analyze: false });
    assert.deepEqual(maintenanceDue(activity({ modifiedSinceAnalyze: 150 })), { vacuum: false, analyze: false });
    assert.deepEqual(maintenanceDue(activity({ modifiedSinceAnalyze: 151 })), { vacuum: false, analyze: true });
    // Ids older than autovacuum_freeze_max_age (200 million transactions): vacuumed, to freeze them.
    assert.deepEqual(maintenanceDue(activity({ transactionIdAge: 200_000_000 })), { vacuum: false, analyze: false });
    assert.deepEqual(maintenanceDue(activity({ transactionIdAge: 200_000_001 })), { vacuum: true, analyze: false });
    // A table never analyzed counts as empty: a few changes suffice.
    assert.deepEqual(maintenanceDue(activity({ rows: 0, deadRows: 51, modifiedSinceAnalyze: 51 })), {
      vacuum: true,
      analyze: true,
    });
  });

  describe("maintainNextTable", () => {
    let opened: OpenDatabaseReturnType;
    before(async () => {
      opened = await openDatabase({ kind: "memory" });
    });
    after(async () => opened.close());

    const statsOf = async (table: string) => {
      await opened.db.execute(sql`select pg_stat_force_next_flush()`);
      const { rows } = await opened.db.execute<{ dead: string; modified: string; vacuumed: string | null }>(sql`
        select stats.n_dead_tup as dead, stats.n_mod_since_analyze as modified, stats.last_vacuum as vacuumed
        from pg_stat_user_tables as stats
        where stats.relname = ${table}`);
      return { dead: Number(rows[0]!.dead), modified: Number(rows[0]!.modified), vacuumed: rows[0]!.vacuumed };
    };

    it("vacuums and analyzes a table full of dead rows, and leaves a quiet one alone", async () => {
      await opened.db.execute(sql`create table churned (id integer primary key, value integer not null)`);
      await opened.db.execute(sql`create table quiet (id integer primary key)`);
      await opened.db.execute(sql`insert into churned select n, 0 from generate_series(1, 2000) as n`);
      await opened.db.execute(sql`insert into quiet select n from generate_series(1, 10) as n`);
      // The table as it starts: its 2000 inserts are due (so that its pages are marked all-visible).
      assert.equal((await maintainNextTable(opened.db))?.table, "public.churned");
      await opened.db.execute(sql`update churned set value = value + 1`);
      await opened.db.execute(sql`update churned set value = value + 1`);
      await opened.db.execute(sql`update quiet set id = id + 100 where id <= 3`);
      const before = { churned: await statsOf("churned"), quiet: await statsOf("quiet") };
      assert.equal(before.churned.dead, 4000);
      assert.equal(before.churned.modified, 4000);
      assert.equal(before.quiet.dead, 3);

      const done = await maintainNextTable(opened.db);
      assert.deepEqual(done && { ...done, ms: typeof done.ms }, {
        table: "public.churned",
        vacuumed: true,
        ms: "number",
      });
      const afterwards = { churned: await statsOf("churned"), quiet: await statsOf("quiet") };
      assert.equal(afterwards.churned.dead, 0);
      assert.equal(afterwards.churned.modified, 0); // analyzed too
      assert.ok(afterwards.churned.vacuumed! > before.churned.vacuumed!);
      assert.equal(afterwards.quiet.dead, 3);
      // Nothing more to do until the tables change again.
      assert.equal(await maintainNextTable(opened.db), undefined);
    });
  });
});
