// Recording a platform event: pass the database transaction of the change it reports, so that the
// event exists exactly when the change does. Webhook delivery reads them from there.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { platformEvents } from "../db/relaySchema.ts";

export const EVENT_TYPES = [
  "claim.confirmed",
  "claim.failed",
  "redemption.completed",
  "redemption.failed",
  "transaction.confirmed",
  "purchase.completed",
  "campaign.budget_exhausted",
  "signer.balance_low",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export async function recordEvent(
  db: Pick<Database, "insert">,
  event: { tenantId: string | null; type: EventType; data: Record<string, unknown> },
): Promise<string> {
  const [row] = await db
    .insert(platformEvents)
    .values({ tenantId: event.tenantId, type: event.type, data: event.data })
    .returning({ id: platformEvents.id });
  return row!.id;
}

/**
 * Records several events in one statement (in the given order); for many changes of one transaction.
 * The events go as three array parameters, so that the statement's text is the same for any number
 * of them (see ../db/anyOf.ts).
 */
export async function recordEvents(
  db: Pick<Database, "execute">,
  events: readonly { tenantId: string | null; type: EventType; data: Record<string, unknown> }[],
): Promise<void> {
  if (events.length === 0) return;
  await db.execute(sql`
    insert into ${platformEvents} (tenant_id, type, data)
    select * from unnest(
      ${sql.param(events.map((event) => event.tenantId))}::uuid[],
      ${sql.param(events.map((event) => event.type))}::text[],
      ${sql.param(events.map((event) => JSON.stringify(event.data)))}::jsonb[]
    )`);
}
