// The claim writer: records accepted claims in batches (group commit). Why: every database
// statement costs the API a fixed price however small (on embedded PGlite, Postgres runs in
// WebAssembly on the API's own thread), and recording one claim at a time took ten statements in
// its own transaction. The writer gathers the claims that arrive within a short window
// (CLAIM_BATCH_WINDOW_MS, or until CLAIM_BATCH_MAX wait) and records them all in one transaction
// with a fixed number of statements: lock the batch's users, lock and re-read its campaigns (and
// engagements), read the earlier claims the rules count, decide each claim in arrival order (a
// user's second claim sees the first; budgets and caps count down), then insert the accepted
// claims, their relay jobs, link them, and add to the counters. Each request is answered once the
// transaction has committed: with its claim, or with the refusal it alone earned; if the
// transaction fails, every request of the batch gets its error and nothing is recorded.
import { randomUUID } from "node:crypto";
import { inArray, sql } from "drizzle-orm";
import type { Address } from "viem";
import { zeroAddress } from "viem";
import type { Level } from "../../auth/principal.ts";
import type { Database } from "../../db/client.ts";
import { claims, relayJobs } from "../../db/relaySchema.ts";
import { campaignEngagements, campaignTriggers, campaigns, tenants } from "../../db/schema.ts";
import { claimRefused, notFound, Problem } from "../../errors.ts";
import { CLAIM_KIND, claimBatchKey, type ClaimJobPayload } from "../../relay/kinds/claim.ts";
import { admitClaim, checkCampaign, lockUsers, readTally, type CountedClaim, type Point } from "./eligibility.ts";

type ClaimRow = typeof claims.$inferSelect;
type Campaign = typeof campaigns.$inferSelect;
type Engagement = typeof campaignEngagements.$inferSelect;

/** A claim that met every rule checkable outside the transaction, ready to be recorded. */
export type ClaimRequest = {
  tenantId: string;
  campaignId: string;
  user: { id: string; walletAddress: string };
  source: Level;
  /** The business bringing the claim, and its engagement in the campaign. */
  business?: { id: string; walletAddress: string; engagementId: string };
  trigger?: typeof campaignTriggers.$inferSelect;
  triggerSourceId?: string;
  location?: Point;
};

export type ClaimWriter = {
  /** Records the claim with the next batch: its row once committed, or its refusal (a Problem). */
  record: (request: ClaimRequest) => Promise<Pick<ClaimRow, "id" | "onchainClaimId">>;
  /** Records what is waiting, then takes no more. */
  stop: () => Promise<void>;
};

export type CreateClaimWriterParameters = {
  db: Database;
  /** How long the first claim of a batch waits for others. */
  windowMs: number;
  /** A batch is recorded at once when this many claims wait. */
  maxBatch: number;
};

type Recorded = Pick<ClaimRow, "id" | "onchainClaimId">;
type Outcome = { recorded: Recorded } | { refused: Problem };
type Waiting = { request: ClaimRequest; resolve: (row: Recorded) => void; reject: (error: unknown) => void };
type TenantChain = { chainId: number; registry: string };

export function createClaimWriter({ db, windowMs, maxBatch }: CreateClaimWriterParameters): ClaimWriter {
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let stopped = false;
  // A tenant's chain and contracts never change once set: read each tenant's row once.
  const tenantChains = new Map<string, TenantChain>();

  async function chainsOf(tenantIds: string[]) {
    const missing = [...new Set(tenantIds)].filter((id) => !tenantChains.has(id));
    if (!missing.length) return;
    const rows = await db
      .select({ id: tenants.id, chainId: tenants.chainId, contracts: tenants.contracts })
      .from(tenants)
      .where(inArray(tenants.id, missing));
    for (const row of rows) {
      if (row.contracts.campaignRegistry) {
        tenantChains.set(row.id, { chainId: row.chainId, registry: row.contracts.campaignRegistry });
      }
    }
  }

  function flush() {
    clearTimeout(timer);
    timer = undefined;
    if (writing || !waiting.length) return;
    const batch = waiting.splice(0, maxBatch);
    writing = (async () => {
      try {
        const requests = batch.map((entry) => entry.request);
        await chainsOf(requests.map((request) => request.tenantId));
        const outcomes = await recordBatch(db, requests, tenantChains);
        outcomes.forEach((outcome, index) => {
          if ("recorded" in outcome) batch[index]!.resolve(outcome.recorded);
          else batch[index]!.reject(outcome.refused);
        });
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      } finally {
        writing = undefined;
        // Claims that arrived while this batch was written have waited long enough.
        if (waiting.length) flush();
      }
    })();
  }

  return {
    record(request) {
      if (stopped) return Promise.reject(new Error("the claim writer is stopped"));
      return new Promise((resolve, reject) => {
        waiting.push({ request, resolve, reject });
        if (waiting.length >= maxBatch) flush();
        else if (!timer && !writing) timer = setTimeout(flush, windowMs);
      });
    },
    async stop() {
      stopped = true;
      while (writing || waiting.length) {
        if (!writing) flush();
        await writing;
      }
    },
  };
}

/** Each request's campaign and engagement as the transaction read them, or why it is refused. */
function counted(
  request: ClaimRequest,
  current: Map<string, Campaign>,
  engagements: Map<string, Engagement>,
  now: Date,
): CountedClaim {
  const campaign = current.get(request.campaignId);
  if (!campaign || campaign.tenantId !== request.tenantId) throw notFound("campaign");
  // The campaign may have been paused, closed or ended since the request was checked.
  checkCampaign(campaign, now);
  const engagement = request.business && engagements.get(request.business.engagementId);
  if (request.business && !engagement?.active) {
    throw claimRefused(409, "business-not-engaged", "This business does not take part in the campaign.");
  }
  return {
    campaign,
    userId: request.user.id,
    ...(request.trigger && { trigger: request.trigger }),
    ...(engagement && { engagement }),
  };
}

/** Refusals become the request's outcome; any other error fails the whole batch. */
function decide<T>(decision: () => T): T | Problem {
  try {
    return decision();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
}

/** Records one batch in one transaction; an outcome per request, in order. */
async function recordBatch(
  db: Database,
  requests: ClaimRequest[],
  tenantChains: Map<string, TenantChain>,
): Promise<Outcome[]> {
  const now = new Date();
  return db.transaction(async (transaction) => {
    const tx = transaction as unknown as Database;
    await lockUsers(
      tx,
      requests.map((request) => request.user.id),
    );
    const campaignIds = [...new Set(requests.map((request) => request.campaignId))];
    const campaignRows = await tx
      .select()
      .from(campaigns)
      .where(inArray(campaigns.id, campaignIds))
      .orderBy(campaigns.id)
      .for("update");
    const engagementIds = [...new Set(requests.flatMap((request) => request.business?.engagementId ?? []))];
    const engagementRows = engagementIds.length
      ? await tx
          .select()
          .from(campaignEngagements)
          .where(inArray(campaignEngagements.id, engagementIds))
          .orderBy(campaignEngagements.id)
          .for("update")
      : [];
    const current = new Map(campaignRows.map((row) => [row.id, row]));
    const engagements = new Map(engagementRows.map((row) => [row.id, row]));

    const prepared = requests.map((request) => decide(() => counted(request, current, engagements, now)));
    const tally = await readTally(tx, {
      claims: prepared.filter((claim): claim is CountedClaim => !(claim instanceof Problem)),
      campaigns: campaignRows,
      engagements: engagementRows,
      now,
    });
    // In arrival order: each accepted claim counts against the next ones.
    const decisions = prepared.map((claim) => {
      if (claim instanceof Problem) return claim;
      return decide(() => {
        admitClaim(claim, tally, now);
        return claim;
      });
    });
    const accepted = requests.flatMap((request, index) => {
      const claim = decisions[index]!;
      return claim instanceof Problem ? [] : [{ request, campaign: claim.campaign, id: randomUUID() }];
    });
    const recorded = await insertClaims(tx, accepted, tenantChains);
    return decisions.map((claim, index): Outcome => {
      if (claim instanceof Problem) return { refused: claim };
      return { recorded: recorded.get(requests[index]!)! };
    });
  });
}

type Accepted = { request: ClaimRequest; campaign: Campaign; id: string };

/** The accepted claims, their relay jobs, the link between them and the counters: four statements or five. */
async function insertClaims(
  tx: Database,
  accepted: Accepted[],
  tenantChains: Map<string, TenantChain>,
): Promise<Map<ClaimRequest, Recorded>> {
  if (!accepted.length) return new Map();
  const rows = await tx
    .insert(claims)
    .values(
      accepted.map(({ request, id }) => ({
        id,
        tenantId: request.tenantId,
        campaignId: request.campaignId,
        userId: request.user.id,
        recipient: request.user.walletAddress,
        source: request.source,
        businessId: request.business?.id ?? null,
        triggerSourceId: request.triggerSourceId ?? null,
        latitude: request.location?.lat ?? null,
        longitude: request.location?.lng ?? null,
      })),
    )
    .returning({ id: claims.id, onchainClaimId: claims.onchainClaimId });
  const onchainIds = new Map(rows.map((row) => [row.id, row.onchainClaimId]));
  const jobs = accepted.map(({ request, campaign, id }) => {
    const chain = tenantChains.get(request.tenantId);
    if (!chain) throw new Error(`tenant ${request.tenantId} has no contracts`);
    const payload: ClaimJobPayload = {
      claimId: id,
      onchainClaimId: String(onchainIds.get(id)),
      onchainCampaignId: campaign.onchainCampaignId!,
      recipient: request.user.walletAddress as Address,
      source: request.source,
      business: (request.business?.walletAddress ?? zeroAddress) as Address,
    };
    return {
      id: randomUUID(),
      tenantId: request.tenantId,
      chainId: chain.chainId,
      kind: CLAIM_KIND,
      batchKey: claimBatchKey(chain.registry),
      payload,
    };
  });
  await tx.insert(relayJobs).values(jobs);
  const links = sql.join(
    accepted.map(({ id }, index) => sql`(${id}::uuid, ${jobs[index]!.id}::uuid)`),
    sql`, `,
  );
  await tx.execute(
    sql`update ${claims} set job_id = batch.job_id from (values ${links}) as batch(id, job_id) where ${claims.id} = batch.id`,
  );
  await addLiveClaims(
    tx,
    campaigns,
    accepted.map(({ campaign }) => campaign.id),
  );
  const engaged = accepted.flatMap(({ request }) => request.business?.engagementId ?? []);
  if (engaged.length) await addLiveClaims(tx, campaignEngagements, engaged);
  return new Map(accepted.map(({ request, id }) => [request, { id, onchainClaimId: onchainIds.get(id)! }]));
}

/** Adds each id's number of accepted claims to its row's live_claims, in one statement. */
async function addLiveClaims(tx: Database, table: typeof campaigns | typeof campaignEngagements, ids: string[]) {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const added = sql.join(
    [...counts].map(([id, accepted]) => sql`(${id}::uuid, ${accepted}::integer)`),
    sql`, `,
  );
  await tx.execute(
    sql`update ${table} set live_claims = live_claims + batch.accepted from (values ${added}) as batch(id, accepted) where ${table.id} = batch.id`,
  );
}
