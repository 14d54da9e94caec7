// Tenant scoping in one place: every query of a tenant's rows goes through a scope, which adds
// `tenant_id = <the caller's tenant>` to it. Another tenant's id therefore finds nothing: 404.
import { and, asc, count, desc, eq, getTableColumns, getTableName, sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Context } from "koa";
import { z } from "zod";
import { conflict, forbidden, notFound, unauthorized } from "../errors.ts";
import type { Database } from "./client.ts";
import { isForeignKeyViolation } from "./errors.ts";
import { createGroupCommit, type GroupCommit } from "./groupCommit.ts";

/** A table with tenant_id (some, like siwe_nonces or business_members, have no id column). */
type TenantOwnedTable = PgTable & { tenantId: AnyPgColumn; $inferSelect: Record<string, unknown> };
type TenantTable = TenantOwnedTable & { id: AnyPgColumn };
type Row<T extends TenantOwnedTable> = T["$inferSelect"];
type NewRow<T extends TenantOwnedTable> = Omit<T["$inferInsert"], "tenantId" | "id" | "createdAt" | "updatedAt">;

export type Page = { page: number; limit: number };
export type ListParameters = Page & {
  where?: (SQL | undefined)[];
  orderBy?: AnyPgColumn;
  order?: "asc" | "desc";
  /** More columns computed beside each row in the same query (e.g. a campaign's tags). */
  extra?: Record<string, SQL>;
};
export type ListReturnType<R> = { data: R[]; pagination: Page & { total: number } };

export type TenantScope = ReturnType<typeof tenantScope>;

// Finding a row by id is the most frequent query of all; building its SQL cost more than reading
// its answer, so it is built once per table and database (a prepared statement; on PostgreSQL
// also prepared by the server, once per connection).
const findStatements = new WeakMap<Database, Map<TenantTable, ReturnType<typeof prepareFind>>>();

function prepareFind(db: Database, table: TenantTable) {
  return db
    .select()
    .from(table as PgTable)
    .where(and(eq(table.tenantId, sql.placeholder("tenantId")), eq(table.id, sql.placeholder("id"))))
    .limit(1)
    .prepare(`find_${getTableName(table)}`);
}

function findStatement(db: Database, table: TenantTable) {
  let statements = findStatements.get(db);
  if (!statements) findStatements.set(db, (statements = new Map()));
  let statement = statements.get(table);
  if (!statement) statements.set(table, (statement = prepareFind(db, table)));
  return statement;
}

// Finds by id that come together share one statement (group reads, ./groupCommit.ts): under load
// many requests read a row of the same table at once (every claim reads the user it pays), and
// each statement costs a round trip to PostgreSQL or, on embedded PGlite, Postgres running on the
// API's own thread. The finds of one turn of the event loop go together; those made while that
// statement is out go in the next one, so every row is read after its find was asked for. Each
// caller gets its own copy of the row. Per database handle and table, so that a transaction never
// shares a read with what runs outside it.
type Find = { tenantId: string; id: string };
type FoundRow = Record<string, unknown> | undefined;
const FIND_GROUP_MAX = 100;
const findGroups = new WeakMap<Database, Map<TenantTable, GroupCommit<Find, FoundRow>>>();
// Every id column is a uuid: an id that is not one (in any form the column takes) finds nothing, and
// must not fail the others' statement.
const uuidShaped = z.guid();

function prepareFindMany(db: Database, table: TenantTable) {
  return db
    .select()
    .from(table as PgTable)
    .where(
      and(
        sql`${table.tenantId} = any(${sql.placeholder("tenantIds")}::uuid[])`,
        sql`${table.id} = any(${sql.placeholder("ids")}::uuid[])`,
      ),
    )
    .prepare(`find_many_${getTableName(table)}`);
}

function findGroup(db: Database, table: TenantTable) {
  let groups = findGroups.get(db);
  if (!groups) findGroups.set(db, (groups = new Map()));
  let group = groups.get(table);
  if (!group) {
    const findMany = prepareFindMany(db, table);
    const keyOf = (tenantId: unknown, id: unknown) => `${tenantId}\u0000${id}`;
    group = createGroupCommit<Find, FoundRow>({
      maxBatch: FIND_GROUP_MAX,
      write: async (finds) => {
        if (finds.length === 1) {
          const [row] = await findStatement(db, table).execute(finds[0]!);
          return [row];
        }
        const rows = await findMany.execute({
          tenantIds: [...new Set(finds.map((find) => find.tenantId))],
          ids: [...new Set(finds.map((find) => find.id))],
        });
        // Matched by tenant and id together: a find of another tenant's id gets nothing.
        const found = new Map(rows.map((row) => [keyOf(row.tenantId, row.id), row]));
        return finds.map((find) => found.get(keyOf(find.tenantId, find.id)));
      },
    });
    groups.set(table, group);
  }
  return group;
}

async function findShared(db: Database, table: TenantTable, tenantId: string, id: string) {
  if (!uuidShaped.safeParse(id).success) return undefined;
  const row = await findGroup(db, table)({ tenantId, id });
  return row && { ...row };
}

async function countOf(db: Database, table: PgTable, where: SQL): Promise<number> {
  const [counted] = await db.select({ total: count() }).from(table).where(where);
  return Number(counted?.total ?? 0);
}

export function tenantScope(db: Database, tenantId: string) {
  const mine = (table: TenantOwnedTable, ...conditions: (SQL | undefined)[]) =>
    and(eq(table.tenantId, tenantId), ...conditions) as SQL;

  return {
    tenantId,
    db,
    /** `tenant_id = mine AND ...conditions`, for queries the helpers below do not cover. */
    where: mine,

    async find<T extends TenantTable>(table: T, id: string, resource: string): Promise<Row<T>> {
      const [row] = await findStatement(db, table).execute({ tenantId, id });
      if (!row) throw notFound(resource);
      return row as Row<T>;
    },

    /**
     * Like find, but read in one statement with the other finds in the same table made at the same
     * moment (see findGroup): for the reads that every request of a busy route makes. Under load a
     * find may wait for the statement already out before its own goes.
     */
    async findShared<T extends TenantTable>(table: T, id: string, resource: string): Promise<Row<T>> {
      const row = await findShared(db, table, tenantId, id);
      if (!row) throw notFound(resource);
      return row as Row<T>;
    },

    async list<T extends TenantTable, Extra = {}>(
      table: T,
      parameters: ListParameters,
    ): Promise<ListReturnType<Row<T> & Extra>> {
      const where = mine(table, ...(parameters.where ?? []));
      const orderBy = parameters.orderBy ?? (table as unknown as { createdAt: AnyPgColumn }).createdAt;
      const offset = (parameters.page - 1) * parameters.limit;
      const rows = await db
        .select({ ...getTableColumns(table as PgTable), ...parameters.extra })
        .from(table as PgTable)
        .where(where)
        .orderBy(parameters.order === "asc" ? asc(orderBy) : desc(orderBy), asc(table.id))
        .limit(parameters.limit)
        .offset(offset);
      // A page short of the limit is the last one and tells the total. Otherwise the total is counted
      // apart: a count beside each row (count(*) over ()) read and sorted every matching row whole,
      // about ten times what counting them alone costs (an index-only scan where one serves). Two
      // statements: under concurrent writes the total may count rows the page did not see.
      const last = rows.length < parameters.limit && (rows.length > 0 || offset === 0);
      const total = last ? offset + rows.length : await countOf(db, table as PgTable, where);
      return {
        data: rows as (Row<T> & Extra)[],
        pagination: { page: parameters.page, limit: parameters.limit, total },
      };
    },

    async insert<T extends TenantOwnedTable>(table: T, values: NewRow<T> & { id?: string }): Promise<Row<T>> {
      const [row] = await db
        .insert(table as PgTable)
        .values({ ...values, tenantId } as never)
        .returning();
      return row as Row<T>;
    },

    async update<T extends TenantTable>(
      table: T,
      id: string,
      values: Partial<NewRow<T>>,
      resource: string,
    ): Promise<Row<T>> {
      const stamped = "updatedAt" in table ? { ...values, updatedAt: new Date() } : values;
      const [row] = await db
        .update(table as PgTable)
        .set(stamped as never)
        .where(mine(table, eq(table.id, id)))
        .returning();
      if (!row) throw notFound(resource);
      return row as Row<T>;
    },

    async remove<T extends TenantTable>(table: T, id: string, resource: string): Promise<void> {
      const removed = await db
        .delete(table as PgTable)
        .where(mine(table, eq(table.id, id)))
        .returning({ id: table.id })
        .catch((error: unknown) => {
          // Records that must outlive it refer to it (a trigger source's paid claims, for one).
          if (isForeignKeyViolation(error))
            throw conflict(`Other records refer to this ${resource}: it cannot be deleted.`);
          throw error;
        });
      if (removed.length === 0) throw notFound(resource);
    },
  };
}

/** The caller's tenant scope; platform callers have none inside a tenant. */
export function scopeOf(ctx: Context): TenantScope {
  const principal = ctx.state.principal;
  if (!principal) throw unauthorized();
  if (principal.kind === "platform") throw forbidden("The platform key acts on tenants, not inside them.");
  return tenantScope(ctx.services.db, principal.tenantId);
}
