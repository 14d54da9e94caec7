// A list of values as one array parameter: `column = any($1::type[])`. Why: drizzle's inArray
// writes a parameter per value, so each length of a list is a statement text of its own; on
// embedded PGlite every new text is parsed and planned (then kept prepared, evicting another:
// ./client.ts), and the relayer's lists of every length up to a batch took PGlite's prepared
// statements and time right after each block. One text is prepared once, whatever the length: for
// the lists whose length varies with a batch or a page (the relayer's, webhook delivery's, the
// claim writer's).
// PostgreSQL plans an IN list as this same `= any(array)`.
import { sql, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";

export function anyOf(column: PgColumn, values: readonly unknown[]): SQL {
  return sql`${column} = any(${sql.param(values)}::${sql.raw(column.getSQLType())}[])`;
}
