// An HTTP proxy for tests: forwards every request to `upstream`, lets a test see the requests and
// rewrite the answers on their way back (the same way on every database, where altering a row in
// place would not be), and remembers the JSON-RPC methods it forwarded.
import { createServer } from "node:http";

export type ProxyParameters = {
  upstream: string;
  /** The answer's new text, given the request's path and the upstream answer's text. */
  rewrite?: (path: string, body: string) => string;
};

export type Proxy = {
  url: string;
  /** The JSON-RPC methods of the requests forwarded so far, a batch's one by one. */
  rpcMethods: string[];
  close: () => Promise<void>;
};

export async function startProxy({ upstream, rewrite = (_path, body) => body }: ProxyParameters): Promise<Proxy> {
  const rpcMethods: string[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = request.method === "POST" ? Buffer.concat(chunks) : undefined;
    if (body) {
      const calls = [JSON.parse(body.toString()) as { method?: string } | { method?: string }[]].flat();
      for (const call of calls) if (call.method) rpcMethods.push(call.method);
    }
    const answer = await fetch(`${upstream}${request.url}`, {
      method: request.method,
      headers: { "content-type": request.headers["content-type"] ?? "application/json" },
      body,
    });
    const text = rewrite(request.url ?? "/", await answer.text());
    response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
    response.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    rpcMethods,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
