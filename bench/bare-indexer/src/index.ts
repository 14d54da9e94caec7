import { ponder } from "ponder:registry";
import { account } from "ponder:schema";

ponder.on("Points:Transfer", async ({ event, context }) => {
  await context.db
    .insert(account)
    .values({ address: event.args.to, balance: event.args.value })
    .onConflictDoUpdate((row) => ({ balance: row.balance + event.args.value }));
});
