import { ponder } from "ponder:registry";
import { token } from "ponder:schema";
import { zeroAddress } from "viem";
import { onRoleAdminChanged, onRoleChanged } from "./accessControl.ts";
import { onApproval, refreshAllowances } from "./allowances.ts";
import { noteCause } from "./causes.ts";
import { issueCause } from "./decode.ts";
import { recordMovement } from "./movements.ts";
import { onEip712DomainChanged, onInitialized, onUpgraded } from "./tenantContract.ts";

ponder.on("PointsToken:Transfer", async ({ event, context }) => {
  const { from, to, value } = event.args;
  await recordMovement(event, context, {
    token: event.log.address,
    standard: "ERC20",
    tokenId: 0n,
    from,
    to,
    amount: value,
    batchIndex: 0,
  });
  // A transfer of nothing spends no allowance, and anyone can log one out of anyone's account.
  if (from !== zeroAddress && value !== 0n) await refreshAllowances(event, context, from);
});

ponder.on("PointsToken:Approval", ({ event, context }) => onApproval(event, context));

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
ponder.on("PointsToken:RoleAdminChanged", ({ event, context }) => onRoleAdminChanged(event, context));
ponder.on("PointsToken:Upgraded", ({ event, context }) => onUpgraded(event, context));
ponder.on("PointsToken:Initialized", ({ event, context }) => onInitialized(event, context));
ponder.on("PointsToken:EIP712DomainChanged", ({ event, context }) => onEip712DomainChanged(event, context));
