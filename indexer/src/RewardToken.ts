import { ponder } from "ponder:registry";
import { onRoleAdminChanged, onRoleChanged } from "./accessControl.ts";
import {
  onApprovalForAll,
  onIssued,
  onPaused,
  onTokenClassDefined,
  onTransferBatch,
  onTransferSingle,
  onUri,
} from "./multiToken.ts";
import { onInitialized, onUpgraded } from "./tenantContract.ts";

ponder.on("RewardToken:TransferSingle", ({ event, context }) => onTransferSingle(event, context));
ponder.on("RewardToken:TransferBatch", ({ event, context }) => onTransferBatch(event, context));
ponder.on("RewardToken:ApprovalForAll", ({ event, context }) => onApprovalForAll(event, context));
ponder.on("RewardToken:TokenClassDefined", ({ event, context }) => onTokenClassDefined(event, context));
ponder.on("RewardToken:URI", ({ event, context }) => onUri(event, context));
ponder.on("RewardToken:Issued", ({ event, context }) => onIssued(event, context));
ponder.on("RewardToken:Paused", ({ event, context }) => onPaused(event, context, true));
ponder.on("RewardToken:Unpaused", ({ event, context }) => onPaused(event, context, false));

ponder.on("RewardToken:RoleGranted", ({ event, context }) => onRoleChanged(event, context, true));
ponder.on("RewardToken:RoleRevoked", ({ event, context }) => onRoleChanged(event, context, false));
ponder.on("RewardToken:RoleAdminChanged", ({ event, context }) => onRoleAdminChanged(event, context));
ponder.on("RewardToken:Upgraded", ({ event, context }) => onUpgraded(event, context));
ponder.on("RewardToken:Initialized", ({ event, context }) => onInitialized(event, context));
