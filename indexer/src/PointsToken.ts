import { ponder } from "ponder:registry";
import { onRoleChanged, onUpgraded } from "./accessControl.ts";
import { token } from "ponder:schema";
import { noteCause } from "./causes.ts";
import { issueCause } from "./decode.ts";
import { recordMovement } from "./movements.ts";

ponder.on("PointsToken:Transfer", async ({ event, context }) => {
  const { from, to, value } = event.args;
  await recordMovement(event, context, {
    token: event.log.address,
    tokenId: 0n,
    from,
    to,
    amount: value,
    batchIndex: 0,
  });
});

ponder.on("PointsToken:Issued", async ({ event, context }) => {
  const { to, reason, ref } = event.args;
  noteCause(context.chain.id, event.transaction.hash, {
    kind: issueCause(reason),
    account: to,
    token: event.log.address,
    reference: ref,
  });
});

ponder.on("PointsToken:Paused", async ({ event, context }) => {
  await context.db.update(token, { chainId: context.chain.id, address: event.log.address }).set({ paused: true });
});

ponder.on("PointsToken:Unpaused", async ({ event, context }) => {
  await context.db.update(token, { chainId: context.chain.id, address: event.log.address }).set({ paused: false });
});

ponder.on("PointsToken:RoleGranted", ({ event, context }) => onRoleChanged(event, context, true));
ponder.on("PointsToken:RoleRevoked", ({ event, context }) => onRoleChanged(event, context, false));
ponder.on("PointsToken:Upgraded", ({ event, context }) => onUpgraded(event, context));
