// A local webhook receiver for tests: a node:http server that records every request it gets (raw
// body and headers) and answers each path as the test says (a status, a redirect, or silence).
import { createServer, type IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";

export type ReceivedWebhook = { path: string; headers: IncomingHttpHeaders; body: string };

export type ReceiverAnswer =
  | { status: number; body?: string; headers?: Record<string, string> }
  /** Never answers (until the receiver closes): for timeouts. */
  | "hang";

export type WebhookReceiver = {
  url: (path: string) => string;
  received: ReceivedWebhook[];
  on: (path: string) => ReceivedWebhook[];
  /** How the receiver answers `path` from now on (200 "ok" by default). */
  answer: (path: string, answer: ReceiverAnswer) => void;
  close: () => Promise<void>;
};

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const answers = new Map<string, ReceiverAnswer>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const path = request.url ?? "/";
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      const answer = answers.get(path) ?? { status: 200, body: "ok" };
      if (answer === "hang") return;
      response.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
      response.end(answer.body ?? "");
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    on: (path) => received.filter((webhook) => webhook.path === path),
    answer: (path, answer) => answers.set(path, answer),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The payload of a received webhook, verified with the endpoint's secret by the standardwebhooks library. */
export const verifyWebhook = (secret: string, webhook: ReceivedWebhook) =>
  new Webhook(secret).verify(webhook.body, webhook.headers as Record<string, string>) as {
    id: string;
    type: string;
    timestamp: string;
    data: Record<string, unknown>;
  };

/** Waits until `condition` holds (polling), or fails after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
