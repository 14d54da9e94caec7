import { ponder } from "ponder:registry";
import { onRoleChanged, onUpgraded } from "./accessControl.ts";
import { onIssued, onPaused, onTokenClassDefined, onTransferBatch, onTransferSingle } from "./multiToken.ts";

ponder.on("StatusToken:TransferSingle", ({ event, context }) => onTransferSingle(event, context));
ponder.on("StatusToken:TransferBatch", ({ event, context }) => onTransferBatch(event, context));
ponder.on("StatusToken:TokenClassDefined", ({ event, context }) => onTokenClassDefined(event, context));
ponder.on("StatusToken:Issued", ({ event, context }) => onIssued(event, context));
ponder.on("StatusToken:Paused", ({ event, context }) => onPaused(event, context, true));
ponder.on("StatusToken:Unpaused", ({ event, context }) => onPaused(event, context, false));

ponder.on("StatusToken:RoleGranted", ({ event, context }) => onRoleChanged(event, context, true));
ponder.on("StatusToken:RoleRevoked", ({ event, context }) => onRoleChanged(event, context, false));
ponder.on("StatusToken:Upgraded", ({ event, context }) => onUpgraded(event, context));
