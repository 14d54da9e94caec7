// The baseline of `npm run bench:http`: Koa answering a constant JSON body, nothing else.
import Koa from "koa";

const app = new Koa();
app.use((ctx) => {
  ctx.body = { hello: "world" };
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
