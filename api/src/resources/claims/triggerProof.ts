// A trigger source vouching for a claim, with its secret (sealed per source: trigger-sources/routes.ts):
// - a QR code's short-lived payload, `base64url(JSON {triggerSourceId, campaignId, exp, nonce})` then
//   `.` and the base64url HMAC-SHA256 of that first part (`exp` at most TRIGGER_QR_MAX_LIFETIME_SECONDS ahead);
// - a platform's webhook: the body names `triggerSourceId`, and X-Trigger-Signature carries
//   `sha256=` and the hex HMAC-SHA256 of `<X-Trigger-Timestamp>.<raw body>`, within five minutes.
// A proof that does not verify is a 401, whoever sends it: it is the credential of the source. A
// proof pays one claim: the claim writer records its use with the claim, and refuses a replay.
import { createHmac, timingSafeEqual } from "node:crypto";
import { sha256 } from "../../crypto/hashing.ts";
import { eq } from "drizzle-orm";
import type { Context } from "koa";
import { z } from "zod";
import { open } from "../../crypto/secretBox.ts";
import { triggerSources } from "../../db/schema.ts";
import type { TenantScope } from "../../db/scope.ts";
import { unauthorized } from "../../errors.ts";
import { secretContext } from "../trigger-sources/routes.ts";

export const TIMESTAMP_HEADER = "X-Trigger-Timestamp";
export const SIGNATURE_HEADER = "X-Trigger-Signature";
const WEBHOOK_TOLERANCE_SECONDS = 300;

const qrPayload = z.strictObject({
  triggerSourceId: z.uuid(),
  campaignId: z.uuid(),
  /** Unix seconds after which the payload is refused (at most the end of year 9999, a date's range). */
  exp: z.number().int().positive().max(253_402_300_799),
  nonce: z.string().min(1).max(200),
});
export type QrPayload = z.infer<typeof qrPayload>;

/** What makes a proof one of a kind (hashed), and until when it would be accepted at all. */
export type ProofUse = { triggerSourceId: string; proofHash: string; expiresAt: Date };

export type TriggerProof = {
  source: typeof triggerSources.$inferSelect;
  /** The campaign a QR payload was made for (webhooks name it in the body they sign). */
  campaignId?: string;
  use: ProofUse;
};

const hmac = (secret: string, data: string) => createHmac("sha256", secret).update(data);

/** A signed QR payload, as a trigger source's owner makes it (and the tests). */
export function signQrPayload(secret: string, payload: QrPayload): string {
  const encoded = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${encoded}.${hmac(secret, encoded).digest("base64url")}`;
}

/** The X-Trigger-Signature of a webhook body sent at `timestamp` (unix seconds). */
export const signTriggerWebhook = (secret: string, timestamp: number, rawBody: string) =>
  `sha256=${hmac(secret, `${timestamp}.${rawBody}`).digest("hex")}`;

const same = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

const refused = (detail: string) => unauthorized(`The trigger source's proof is refused: ${detail}`);

async function sourceOf(scope: TenantScope, id: string, type: "QR_CODE" | "API_WEBHOOK") {
  const [source] = await scope.db
    .select()
    .from(triggerSources)
    .where(scope.where(triggerSources, eq(triggerSources.id, id)))
    .limit(1);
  // An unknown source and a wrong signature look alike: a caller learns nothing about the ids.
  if (!source || source.type !== type) throw refused("the signature does not verify.");
  return source;
}

const secretOf = (ctx: Context, source: TriggerProof["source"]) =>
  open(ctx.services.config.MASTER_KEY, source.secretCiphertext, secretContext(source.id));

async function verifyQr(ctx: Context, scope: TenantScope, qr: string): Promise<TriggerProof> {
  const [encoded, signature, extra] = qr.split(".");
  if (!encoded || !signature || extra !== undefined) throw refused("the QR payload is malformed.");
  let payload: QrPayload;
  try {
    payload = qrPayload.parse(JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")));
  } catch {
    throw refused("the QR payload is malformed.");
  }
  const source = await sourceOf(scope, payload.triggerSourceId, "QR_CODE");
  if (!same(hmac(secretOf(ctx, source), encoded).digest("base64url"), signature)) {
    throw refused("the signature does not verify.");
  }
  if (!source.active) throw refused("the trigger source is inactive.");
  if (payload.exp * 1000 <= Date.now()) throw refused("the QR payload has expired.");
  // A payload valid for years would be a standing credential, and its record of use kept as long.
  const maxLifetime = ctx.services.config.TRIGGER_QR_MAX_LIFETIME_SECONDS;
  // With a webhook's tolerance for the source's clock running ahead of ours.
  if (payload.exp > Date.now() / 1000 + maxLifetime + WEBHOOK_TOLERANCE_SECONDS) {
    throw refused(`the QR payload expires more than ${maxLifetime} s from now (TRIGGER_QR_MAX_LIFETIME_SECONDS).`);
  }
  const use = {
    triggerSourceId: source.id,
    proofHash: sha256(`qr:${payload.nonce}`),
    expiresAt: new Date(payload.exp * 1000),
  };
  return { source, campaignId: payload.campaignId, use };
}

async function verifyWebhook(ctx: Context, scope: TenantScope, sourceId: string): Promise<TriggerProof> {
  const timestamp = ctx.get(TIMESTAMP_HEADER);
  const signature = ctx.get(SIGNATURE_HEADER);
  if (!/^\d{1,12}$/.test(timestamp) || !signature) {
    throw refused(`a webhook names its source with ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}.`);
  }
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_SECONDS) {
    throw refused(`${TIMESTAMP_HEADER} is more than ${WEBHOOK_TOLERANCE_SECONDS} s away from now.`);
  }
  const source = await sourceOf(scope, sourceId, "API_WEBHOOK");
  const rawBody = (ctx.request as { rawBody?: string }).rawBody ?? "";
  if (!same(signTriggerWebhook(secretOf(ctx, source), Number(timestamp), rawBody), signature)) {
    throw refused("the signature does not verify.");
  }
  if (!source.active) throw refused("the trigger source is inactive.");
  // The signature covers the timestamp and the body: the same request sent again has the same one.
  const expiresAt = new Date((Number(timestamp) + WEBHOOK_TOLERANCE_SECONDS) * 1000);
  return { source, use: { triggerSourceId: source.id, proofHash: sha256(`webhook:${signature}`), expiresAt } };
}

/** The trigger source vouching for this claim, if the request carries a proof; 401 if it does not verify. */
export async function verifyTriggerProof(
  ctx: Context,
  scope: TenantScope,
  body: { qr?: string; triggerSourceId?: string },
): Promise<TriggerProof | undefined> {
  if (body.qr !== undefined) return verifyQr(ctx, scope, body.qr);
  if (body.triggerSourceId !== undefined) return verifyWebhook(ctx, scope, body.triggerSourceId);
  return undefined;
}
