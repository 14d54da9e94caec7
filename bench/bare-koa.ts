// The baseline of `npm run bench:http`: Koa answering a constant JSON body, nothing else. By default
// the hello-world body; with BARE_BODY_FILE, that file's JSON text as it is (the API's own answer, to
// tell what its bytes cost from what the API does).
import { readFileSync } from "node:fs";
import Koa from "koa";

const bodyFile = process.env.BARE_BODY_FILE;
const text = bodyFile ? readFileSync(bodyFile, "utf8") : undefined;

const app = new Koa();
app.use((ctx) => {
  if (text === undefined) {
    ctx.body = { hello: "world" };
    return;
  }
  ctx.type = "application/json";
  ctx.body = text;
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
