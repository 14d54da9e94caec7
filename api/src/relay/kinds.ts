// The job kinds the relayer started by the API carries. Each flow adds its kind here.
import type { JobKind } from "./jobs.ts";
import { campaignKind } from "./kinds/campaign.ts";
import { claimKind } from "./kinds/claim.ts";
import { forwardKind } from "./kinds/forward.ts";
import { issueKind } from "./kinds/issue.ts";
import { purchaseKind } from "./kinds/purchase.ts";

export const jobKinds: readonly JobKind<any>[] = [campaignKind, claimKind, forwardKind, issueKind, purchaseKind];
