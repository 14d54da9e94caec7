// A payment provider's webhook: POST /purchases/webhooks/:provider, no credential, the signature is
// the proof. The provider signs with its secret:
//
//   X-Pers-Timestamp: <unix seconds>
//   X-Pers-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//
// (the timestamp is signed with the body, so an old request cannot be sent again with a new one).
// Accepted: a timestamp within PURCHASE_WEBHOOK_TOLERANCE_SECONDS of now and a matching signature
// over the raw bytes received; then the body is validated. Each event id is answered once: a
// replay gets the first answer (200). A `payment.succeeded` makes one purchase per provider and
// payment, and its `purchase` job issues the points on chain.
import { createHmac, timingSafeEqual } from "node:crypto";
import { and, eq, or } from "drizzle-orm";
import type { Middleware } from "koa";
import { z } from "zod";
import { access } from "../../auth/principal.ts";
import type { Database } from "../../db/client.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { purchaseProviders, purchases, purchaseWebhookEvents } from "../../db/purchasesSchema.ts";
import { tenants, users } from "../../db/schema.ts";
import { notFound, unauthorized, unprocessable, validationFailed } from "../../errors.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { enqueue } from "../../relay/jobs.ts";
import { PURCHASE_JOB, purchaseReference, type PurchasePayload } from "../../relay/kinds/purchase.ts";
import { openProviderSecret } from "./providers.ts";
import { presentPurchase } from "./present.ts";
import { paymentSucceeded, providerParams, purchaseWebhook, purchaseWebhookAnswer } from "./schema.ts";

export const SIGNATURE_HEADER = "x-pers-signature";
export const TIMESTAMP_HEADER = "x-pers-timestamp";

type ProviderRow = typeof purchaseProviders.$inferSelect;
type Answer = z.output<typeof purchaseWebhookAnswer>;

/** The signature header's value for a body sent at `timestamp` (for providers' adapters and tests). */
export const signPurchaseWebhook = (secret: string, timestamp: number, rawBody: string | Buffer) =>
  `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex")}`;

const rejected = (detail: string) => unauthorized(`The webhook's signature does not verify: ${detail}`);

/** Finds the provider and checks the request's timestamp and signature before anything reads the body. */
const verifySignature: Middleware = async (ctx, next) => {
  const providerId = z.uuid().safeParse(ctx.params?.provider);
  if (!providerId.success) throw notFound("purchase provider");
  const { db, config } = ctx.services;
  const [found] = await db
    .select({ provider: purchaseProviders })
    .from(purchaseProviders)
    .innerJoin(tenants, eq(tenants.id, purchaseProviders.tenantId))
    .where(and(eq(purchaseProviders.id, providerId.data), eq(purchaseProviders.active, true), eq(tenants.active, true)))
    .limit(1);
  if (!found) throw notFound("purchase provider");

  const timestamp = ctx.get(TIMESTAMP_HEADER);
  const signature = ctx.get(SIGNATURE_HEADER);
  if (!/^\d{1,12}$/.test(timestamp)) throw rejected(`${TIMESTAMP_HEADER} must be the time in unix seconds.`);
  if (!/^sha256=[0-9a-f]{64}$/.test(signature)) throw rejected(`${SIGNATURE_HEADER} must be sha256=<64 hex digits>.`);
  const skew = Math.abs(Date.now() / 1000 - Number(timestamp));
  if (skew > config.PURCHASE_WEBHOOK_TOLERANCE_SECONDS) throw rejected("the timestamp is too far from now.");
  const rawBody = (ctx.request as { rawBody?: string }).rawBody ?? "";
  const expected = Buffer.from(
    signPurchaseWebhook(openProviderSecret(config.MASTER_KEY, found.provider), Number(timestamp), rawBody),
  );
  if (!timingSafeEqual(expected, Buffer.from(signature))) throw rejected("no match.");
  ctx.state.purchaseProvider = found.provider;
  await next();
};

/** The first answer to this provider's event, if it was answered. */
async function answered(db: Database, provider: ProviderRow, eventId: string) {
  const [row] = await db
    .select()
    .from(purchaseWebhookEvents)
    .where(and(eq(purchaseWebhookEvents.providerId, provider.id), eq(purchaseWebhookEvents.eventId, eventId)))
    .limit(1);
  return row;
}

/** Accepts a payment: its purchase and job (or the purchase an earlier event made), and the answer recorded. */
async function acceptPayment(
  db: Database,
  provider: ProviderRow,
  event: { id: string; data: Record<string, unknown> },
): Promise<{ status: number; body: Answer }> {
  const parsed = paymentSucceeded.safeParse(event.data);
  if (!parsed.success) {
    throw validationFailed(
      parsed.error.issues.map((issue) => ({
        path: ["body", "data", ...issue.path.map(String)].join("."),
        message: issue.message,
      })),
    );
  }
  const { paymentId, amount, currency, customer } = parsed.data;
  if (currency !== provider.currency) {
    throw unprocessable(`This provider's payments are in ${provider.currency}, not ${currency}.`);
  }
  const points = BigInt(amount) * BigInt(provider.pointsPerMinorUnit);
  if (points >= 2n ** 256n) throw unprocessable("The payment is worth more points than a token amount can hold.");
  const mine = eq(users.tenantId, provider.tenantId);
  const [user] = await db
    .select()
    .from(users)
    .where(
      and(
        mine,
        eq(users.active, true),
        or(
          customer.userId === undefined ? undefined : eq(users.id, customer.userId),
          customer.externalId === undefined ? undefined : eq(users.externalId, customer.externalId),
          // Only an email the tenant vouches for: one a user typed in could be anyone's.
          customer.email === undefined
            ? undefined
            : and(eq(users.email, customer.email.toLowerCase()), eq(users.emailVerified, true)),
        ),
      ),
    )
    .limit(1);
  if (!user) throw unprocessable("No active user of this tenant matches the payment's customer.");
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, provider.tenantId)).limit(1);

  return db.transaction(async (tx) => {
    const reference = purchaseReference(provider.id, paymentId);
    const [made] = await tx
      .insert(purchases)
      .values({
        tenantId: provider.tenantId,
        providerId: provider.id,
        paymentId,
        userId: user.id,
        recipient: user.walletAddress,
        currency,
        amountMinor: amount,
        points: points.toString(),
        chainId: tenant!.chainId,
        tokenAddress: provider.tokenAddress,
        reference,
      })
      .onConflictDoNothing()
      .returning();
    let purchase = made;
    if (made) {
      const jobId = await enqueue<PurchasePayload>(tx, {
        tenantId: provider.tenantId,
        chainId: made.chainId,
        kind: PURCHASE_JOB,
        payload: {
          purchaseId: made.id,
          token: made.tokenAddress as `0x${string}`,
          to: made.recipient as `0x${string}`,
          amount: made.points,
          reference,
        },
      });
      [purchase] = await tx.update(purchases).set({ jobId }).where(eq(purchases.id, made.id)).returning();
    } else {
      [purchase] = await tx
        .select()
        .from(purchases)
        .where(and(eq(purchases.providerId, provider.id), eq(purchases.paymentId, paymentId)))
        .limit(1);
    }
    const body: Answer = {
      eventId: event.id,
      status: made ? "ACCEPTED" : "DUPLICATE_PAYMENT",
      purchase: presentPurchase(purchase!),
    };
    const status = made ? 202 : 200;
    await tx.insert(purchaseWebhookEvents).values({
      providerId: provider.id,
      eventId: event.id,
      tenantId: provider.tenantId,
      purchaseId: purchase!.id,
      responseStatus: status,
      responseBody: body,
    });
    return { status, body };
  });
}

export function registerPurchaseWebhook(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/purchases/webhooks/:provider",
    summary:
      "A payment provider's signed webhook (X-Pers-Timestamp, X-Pers-Signature: sha256=HMAC-SHA256(secret, timestamp.body)); payment.succeeded issues the points once per payment",
    tags: ["purchases"],
    access: access.none,
    params: providerParams,
    body: purchaseWebhook,
    before: [verifySignature],
    errors: [401, 404, 422],
    responses: {
      202: { description: "Accepted: the points will be issued", schema: purchaseWebhookAnswer },
      200: {
        description: "Already answered (a replayed event or a payment already reported), or ignored",
        schema: purchaseWebhookAnswer,
      },
    },
    handler: async (ctx) => {
      const provider = ctx.state.purchaseProvider as ProviderRow;
      const { db } = ctx.services;
      const event = ctx.input.body;
      const first = await answered(db, provider, event.id);
      if (first) {
        ctx.status = 200;
        ctx.body = first.responseBody;
        return;
      }
      try {
        if (event.type === "payment.succeeded") {
          const { status, body } = await acceptPayment(db, provider, event);
          ctx.status = status;
          ctx.body = body;
        } else {
          const body: Answer = { eventId: event.id, status: "IGNORED", purchase: null };
          await db.insert(purchaseWebhookEvents).values({
            providerId: provider.id,
            eventId: event.id,
            tenantId: provider.tenantId,
            responseStatus: 200,
            responseBody: body,
          });
          ctx.status = 200;
          ctx.body = body;
        }
      } catch (error) {
        // The same event, answered meanwhile by a request running alongside this one.
        if (!isUniqueViolation(error)) throw error;
        const racing = await answered(db, provider, event.id);
        if (!racing) throw error;
        ctx.status = 200;
        ctx.body = racing.responseBody;
      }
    },
  });
}
