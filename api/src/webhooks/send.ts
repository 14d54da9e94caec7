// One attempt to deliver a webhook: a POST signed with the Standard Webhooks scheme (webhook-id,
// webhook-timestamp, webhook-signature), within a timeout, never following a redirect. Whatever
// happens is an outcome to log, never a thrown error.
import { Webhook } from "standardwebhooks";
import type { Response } from "undici";
import { outboundRefusalOf, type OutboundFetch } from "../outbound/agent.ts";

export type SendParameters = {
  url: string;
  secret: string;
  /** The secret before the last rotation, while it is kept: its signature goes beside the new one's. */
  previousSecret?: string;
  /** The same on every attempt of a delivery, so receivers can drop repeats. */
  messageId: string;
  body: string;
  timeoutMs: number;
  /** Connects only where the API may (../outbound/agent.ts). */
  fetch: OutboundFetch;
};

export type SendReturnType = {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  /** The address is one the API may not connect to: trying again will not help. */
  refused: boolean;
};

const EXCERPT_CHARS = 500;
const EXCERPT_BYTES = 4 * EXCERPT_CHARS;

/** Text from the receiver or the network, made storable: a Postgres text column refuses NUL. */
const storable = (text: string) => text.replaceAll("\u0000", "\uFFFD");

/** The start of a response's body, without reading more than a few kilobytes of it. */
async function excerptOf(response: Response): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = storable(Buffer.concat(chunks).toString("utf8").slice(0, EXCERPT_CHARS));
  return text || null;
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message;
  const message = error instanceof Error ? error.message : String(error);
  return detail ? `${message}: ${detail}` : message;
}

export async function sendWebhook(parameters: SendParameters): Promise<SendReturnType> {
  const { url, secret, previousSecret, messageId, body, timeoutMs, fetch } = parameters;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    // The timestamp is the wall clock's: the receiver checks it against its own.
    const sentAt = new Date();
    // Standard Webhooks: several signatures, space-separated; a receiver accepts any it can verify.
    const signature = [secret, ...(previousSecret ? [previousSecret] : [])]
      .map((key) => new Webhook(key).sign(messageId, sentAt, body))
      .join(" ");
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "PERS-Webhooks/1",
        "webhook-id": messageId,
        "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
        "webhook-signature": signature,
      },
      body,
      // A redirect could point anywhere (another host, an internal address): it is an answer, not a hop.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const responseExcerpt = await excerptOf(response).catch(() => null);
    const ok = response.status >= 200 && response.status < 300;
    let error: string | null = null;
    if (response.status >= 300 && response.status < 400) {
      error = storable(`redirect to ${response.headers.get("location") ?? "(no location)"} not followed`);
    } else if (!ok) {
      error = `answered ${response.status}`;
    }
    return { ok, statusCode: response.status, durationMs: elapsed(), error, responseExcerpt, refused: false };
  } catch (error) {
    const refusal = outboundRefusalOf(error);
    return {
      ok: false,
      statusCode: null,
      durationMs: elapsed(),
      error: storable(refusal ? `refused: ${refusal.message}` : describe(error, timeoutMs)),
      responseExcerpt: null,
      refused: refusal !== undefined,
    };
  }
}
