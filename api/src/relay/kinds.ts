// The job kinds the relayer started by the API carries. Each flow adds its kind here.
import type { JobKind } from "./jobs.ts";
import { issueKind } from "./kinds/issue.ts";

export const jobKinds: readonly JobKind<any>[] = [issueKind];
