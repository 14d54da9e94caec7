// Ids a request names must be the tenant's own: another tenant's id, like an unknown one, is a 404.
import { eq, inArray } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import type { TenantScope } from "../../db/scope.ts";
import { conflict, notFound } from "../../errors.ts";
import { campaigns } from "../../db/schema.ts";

type OwnedTable = PgTable & { id: AnyPgColumn; tenantId: AnyPgColumn };

export async function assertOwned(scope: TenantScope, table: OwnedTable, ids: string[], resource: string) {
  const wanted = [...new Set(ids)];
  if (!wanted.length) return;
  const found = await scope.db
    .select({ id: table.id })
    .from(table as PgTable)
    .where(scope.where(table, inArray(table.id, wanted)));
  const known = new Set(found.map((row) => row.id as string));
  const missing = wanted.find((id) => !known.has(id));
  if (missing !== undefined) throw notFound(`${resource} ${missing}`);
}

/** The campaign, for a change by its managers: 404 if not the tenant's, 409 once it is CLOSED. */
export async function openCampaign(scope: TenantScope, id: string) {
  const row = await scope.find(campaigns, id, "campaign");
  if (row.status === "CLOSED") throw conflict("This campaign is CLOSED: a closed campaign is final.");
  return row;
}

/**
 * The campaign, its row locked until the transaction of `scope` ends: a concurrent change of the
 * campaign (its status, payouts, tags or engagements) waits for it, then reads what it left. 404
 * if not the tenant's, or deleted meanwhile.
 */
export async function lockedCampaign(scope: TenantScope, id: string) {
  const [row] = await scope.db
    .select()
    .from(campaigns)
    .where(scope.where(campaigns, eq(campaigns.id, id)))
    .for("update");
  if (!row) throw notFound("campaign");
  return row;
}

/** openCampaign under the campaign's row lock (see lockedCampaign): what a change checks holds until it commits. */
export async function lockedOpenCampaign(scope: TenantScope, id: string) {
  const row = await lockedCampaign(scope, id);
  if (row.status === "CLOSED") throw conflict("This campaign is CLOSED: a closed campaign is final.");
  return row;
}
