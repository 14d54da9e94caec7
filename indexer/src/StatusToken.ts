import { ponder } from "ponder:registry";
import { onRoleAdminChanged, onRoleChanged } from "./accessControl.ts";
import { onIssued, onPaused, onTokenClassDefined, onTransferBatch, onTransferSingle, onUri } from "./multiToken.ts";
import { onInitialized, onUpgraded } from "./tenantContract.ts";

ponder.on("StatusToken:TransferSingle", ({ event, context }) => onTransferSingle(event, context));
ponder.on("StatusToken:TransferBatch", ({ event, context }) => onTransferBatch(event, context));
// Status tokens refuse approvals, and one recorded before that rule authorises nothing
// (isApprovedForAll answers false): no operator_approval row, which would say otherwise.
ponder.on("StatusToken:ApprovalForAll", () => {});
ponder.on("StatusToken:TokenClassDefined", ({ event, context }) => onTokenClassDefined(event, context));
ponder.on("StatusToken:URI", ({ event, context }) => onUri(event, context));
ponder.on("StatusToken:Issued", ({ event, context }) => onIssued(event, context));
ponder.on("StatusToken:Paused", ({ event, context }) => onPaused(event, context, true));
ponder.on("StatusToken:Unpaused", ({ event, context }) => onPaused(event, context, false));

ponder.on("StatusToken:RoleGranted", ({ event, context }) => onRoleChanged(event, context, true));
ponder.on("StatusToken:RoleRevoked", ({ event, context }) => onRoleChanged(event, context, false));
ponder.on("StatusToken:RoleAdminChanged", ({ event, context }) => onRoleAdminChanged(event, context));
ponder.on("StatusToken:Upgraded", ({ event, context }) => onUpgraded(event, context));
ponder.on("StatusToken:Initialized", ({ event, context }) => onInitialized(event, context));
