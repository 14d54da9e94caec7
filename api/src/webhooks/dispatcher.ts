// The webhook dispatcher: turns platform events into deliveries, then delivers what is due.
//
// 1. Fan-out. Undispatched platform_events are locked (FOR UPDATE SKIP LOCKED), one delivery is made
//    per active endpoint subscribed to the event's type, and the event is marked dispatched, all in
//    one transaction: an event gets its deliveries exactly once, whichever process takes it.
//    A tenant's event goes only to that tenant's endpoints. A platform-wide event (no tenant: a
//    signer's balance running low, which stalls every tenant's relaying) goes to every active
//    tenant's endpoints that subscribed to its type; its data names nothing of any tenant.
// 2. Delivery. Due deliveries are claimed with FOR UPDATE SKIP LOCKED and leased (their next attempt
//    moved past the request's timeout) in one statement, so processes share them and a process that
//    dies mid-attempt leaves them to be retried when the lease ends. Each attempt is logged; a failure
//    is retried after the next delay of WEBHOOK_RETRY_SCHEDULE_SECONDS, and fails for good after
//    the last one. Receivers see the same webhook-id on every attempt and may see one twice.
//    An attempt settles its delivery only while it holds its lease: one that outlived it is counted,
//    and the attempt that took over decides what follows.
//    An endpoint whose address the API may not connect to (a private network: ../outbound/agent.ts)
//    fails at once, its attempt logged with the reason.
import { and, arrayContains, asc, eq, gt, inArray, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.ts";
import { platformEvents } from "../db/relaySchema.ts";
import { tenants } from "../db/schema.ts";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/webhooksSchema.ts";
import type { Services } from "../http/context.ts";
import { outboundFetch, processOutboundAgent } from "../outbound/agent.ts";
import { openEndpointSecret } from "./secrets.ts";
import { sendWebhook, type SendReturnType } from "./send.ts";
import { anyOf } from "../db/anyOf.ts";

export type WebhookDispatcherParameters = {
  services: Pick<Services, "db" | "config" | "logger">;
  pollIntervalMs?: number;
  /** The scheduler's clock (due times, back-off); tests move it instead of waiting. */
  now?: () => Date;
  /** Events fanned out, and deliveries claimed, per round. */
  batchSize?: number;
};

export type WebhookDispatcher = {
  stop: () => Promise<void>;
  /** One round of fan-out and delivery now (tests; the loop runs rounds by itself). */
  runOnce: () => Promise<{ dispatched: number; attempted: number }>;
};

/** The delay before the next attempt after `attempts` attempts, or null when there is none. */
export function retryDelaySeconds(schedule: readonly number[], attempts: number): number | null {
  return schedule[attempts - 1] ?? null;
}

/** The body every attempt of an event's deliveries sends. */
export function webhookBody(event: typeof platformEvents.$inferSelect): string {
  return JSON.stringify({ id: event.id, type: event.type, timestamp: event.createdAt.toISOString(), data: event.data });
}

/** Makes the deliveries (due at `now`) of up to `limit` undispatched events; answers how many events it took. */
export async function fanOut(db: Database, now: Date, limit: number): Promise<number> {
  return db.transaction(async (tx) => {
    const events = await tx
      .select()
      .from(platformEvents)
      .where(isNull(platformEvents.dispatchedAt))
      .orderBy(asc(platformEvents.createdAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    // Events of one tenant and type go to the same endpoints: look them up once per round.
    const subscribed = new Map<string, { id: string; tenantId: string }[]>();
    const deliveries: (typeof webhookDeliveries.$inferInsert)[] = [];
    for (const event of events) {
      const key = `${event.tenantId ?? ""}\u0000${event.type}`;
      let endpoints = subscribed.get(key);
      if (!endpoints) {
        endpoints = await tx
          .select({ id: webhookEndpoints.id, tenantId: webhookEndpoints.tenantId })
          .from(webhookEndpoints)
          .innerJoin(tenants, eq(tenants.id, webhookEndpoints.tenantId))
          .where(
            and(
              eq(webhookEndpoints.active, true),
              arrayContains(webhookEndpoints.eventTypes, [event.type]),
              event.tenantId === null ? eq(tenants.active, true) : eq(webhookEndpoints.tenantId, event.tenantId),
            ),
          );
        subscribed.set(key, endpoints);
      }
      if (endpoints.length === 0) continue;
      const body = webhookBody(event);
      for (const endpoint of endpoints) {
        deliveries.push({
          tenantId: endpoint.tenantId,
          endpointId: endpoint.id,
          eventId: event.id,
          eventType: event.type,
          body,
          nextAttemptAt: now,
        });
      }
    }
    if (deliveries.length) await tx.insert(webhookDeliveries).values(deliveries).onConflictDoNothing();
    if (events.length) {
      await tx
        .update(platformEvents)
        .set({ dispatchedAt: sql`now()` })
        .where(
          anyOf(
            platformEvents.id,
            events.map((event) => event.id),
          ),
        );
    }
    return events.length;
  });
}

type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/**
 * Deliveries a dispatcher has claimed and not yet settled. A claim moves updatedAt to its time and
 * nextAttemptAt to the lease's end; settling sets lastAttemptAt and updatedAt to that same time.
 */
export const attemptInFlight = (now: Date): SQL =>
  and(
    eq(webhookDeliveries.status, "PENDING"),
    gt(webhookDeliveries.nextAttemptAt, now),
    or(isNull(webhookDeliveries.lastAttemptAt), lt(webhookDeliveries.lastAttemptAt, webhookDeliveries.updatedAt)),
  )!;

/** The delivery, if it is still as `claimed` leased it: nobody redelivered it or, the lease over, claimed it again. */
const stillLeased = (claimed: DeliveryRow) =>
  and(
    eq(webhookDeliveries.id, claimed.id),
    eq(webhookDeliveries.status, "PENDING"),
    eq(webhookDeliveries.nextAttemptAt, claimed.nextAttemptAt),
  );

/** Claims up to `limit` due deliveries, leasing each until `leaseUntil`. */
export async function claimDue(db: Database, now: Date, leaseUntil: Date, limit: number): Promise<DeliveryRow[]> {
  const due = and(eq(webhookDeliveries.status, "PENDING"), lte(webhookDeliveries.nextAttemptAt, now));
  const candidates = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(due)
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  return db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: leaseUntil, updatedAt: now })
    .where(and(inArray(webhookDeliveries.id, candidates), due))
    .returning();
}

export async function attemptDelivery(
  services: WebhookDispatcherParameters["services"],
  delivery: DeliveryRow,
  now: Date,
): Promise<void> {
  const { db, config } = services;
  const [endpoint] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, delivery.endpointId), eq(webhookEndpoints.tenantId, delivery.tenantId)))
    .limit(1);
  if (!endpoint || !endpoint.active) {
    await db
      .update(webhookDeliveries)
      .set({ status: "FAILED", manual: false, lastError: "the endpoint was deactivated", updatedAt: now })
      .where(stillLeased(delivery));
    return;
  }
  const outcome = await sendWebhook({
    url: endpoint.url,
    secret: openEndpointSecret(config.MASTER_KEY, endpoint.id, endpoint.secretCiphertext),
    ...(endpoint.previousSecretCiphertext &&
      endpoint.previousSecretExpiresAt &&
      endpoint.previousSecretExpiresAt > now && {
        previousSecret: openEndpointSecret(config.MASTER_KEY, endpoint.id, endpoint.previousSecretCiphertext),
      }),
    messageId: delivery.eventId,
    body: delivery.body,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    fetch: outboundFetch(processOutboundAgent(config.OUTBOUND_ALLOW_PRIVATE_NETWORKS)),
  });
  if (outcome.refused) {
    services.logger.warn(
      { tenantId: delivery.tenantId, endpointId: endpoint.id, deliveryId: delivery.id, reason: outcome.error },
      "webhook delivery refused: the endpoint's address is not public",
    );
  }
  try {
    await db.transaction(async (tx) => {
      await tx.insert(webhookAttempts).values({
        tenantId: delivery.tenantId,
        deliveryId: delivery.id,
        manual: delivery.manual,
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        error: outcome.error,
        responseExcerpt: outcome.responseExcerpt,
      });
      await settle(tx, config.WEBHOOK_RETRY_SCHEDULE_SECONDS, delivery, now, outcome);
    });
  } catch (error) {
    // Unlogged, the attempt still counts: else it would be sent again each time its lease ends, forever.
    const unlogged = { ...outcome, error: "the attempt was made but could not be logged" };
    await db.transaction((tx) => settle(tx, config.WEBHOOK_RETRY_SCHEDULE_SECONDS, delivery, now, unlogged));
    throw error;
  }
}

/** Counts an attempt of `claimed` and, while its lease holds, sets what follows: a retry, or the end. */
async function settle(
  tx: Transaction,
  schedule: readonly number[],
  claimed: DeliveryRow,
  now: Date,
  outcome: Pick<SendReturnType, "ok" | "refused" | "statusCode" | "error">,
): Promise<void> {
  const after = (attempts: number) => {
    const delay = retryDelaySeconds(schedule, attempts);
    const status: DeliveryRow["status"] = outcome.ok
      ? "SUCCEEDED"
      : outcome.refused || delay === null
        ? "FAILED"
        : "PENDING";
    return { status, nextAttemptAt: status === "PENDING" ? new Date(now.getTime() + delay! * 1000) : now };
  };
  // Counted in SQL rather than from the claim's snapshot: an attempt that outlived its lease counts
  // too, and the wait before the next one follows the true count.
  const counted = sql`${webhookDeliveries.attempts} + 1`;
  const [settled] = await tx
    .update(webhookDeliveries)
    .set({
      ...after(claimed.attempts + 1),
      attempts: counted,
      manual: false,
      lastAttemptAt: now,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.error,
      updatedAt: now,
    })
    .where(stillLeased(claimed))
    .returning({ attempts: webhookDeliveries.attempts });
  if (!settled) {
    await tx.update(webhookDeliveries).set({ attempts: counted }).where(eq(webhookDeliveries.id, claimed.id));
  } else if (settled.attempts !== claimed.attempts + 1) {
    // An outlived attempt counted meanwhile (rare): the row is this transaction's until it commits.
    await tx.update(webhookDeliveries).set(after(settled.attempts)).where(eq(webhookDeliveries.id, claimed.id));
  }
}

export function startWebhookDispatcher(parameters: WebhookDispatcherParameters): WebhookDispatcher {
  const { services, pollIntervalMs = services.config.WEBHOOK_POLL_INTERVAL_MS, batchSize = 50 } = parameters;
  const now = parameters.now ?? (() => new Date());
  const { db, config, logger } = services;
  // Past the request's timeout, so that an attempt in flight is never claimed again.
  const leaseMs = config.WEBHOOK_TIMEOUT_MS + 30_000;

  let stopped = false;
  const runOnce = async () => {
    let dispatched = 0;
    for (let taken = batchSize; taken === batchSize;) {
      taken = await fanOut(db, now(), batchSize);
      dispatched += taken;
    }
    let attempted = 0;
    // A full batch suggests more are due; a stop ends the round after the batch in hand.
    for (let claimed = batchSize; claimed === batchSize;) {
      const at = now();
      const due = await claimDue(db, at, new Date(at.getTime() + leaseMs), batchSize);
      await Promise.all(
        due.map((delivery) =>
          attemptDelivery(services, delivery, at).catch((error) =>
            logger.error({ err: error, deliveryId: delivery.id }, "webhook delivery could not be recorded"),
          ),
        ),
      );
      claimed = due.length;
      attempted += claimed;
      if (stopped) break;
    }
    return { dispatched, attempted };
  };

  let timer: NodeJS.Timeout | undefined;
  let round: Promise<unknown> | undefined;
  const loop = () => {
    if (stopped) return;
    round = runOnce()
      .catch((error) => logger.error({ err: error }, "webhook dispatcher round failed"))
      .finally(() => {
        round = undefined;
        if (!stopped) timer = setTimeout(loop, pollIntervalMs);
      });
  };
  loop();

  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
