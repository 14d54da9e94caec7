// The claim writer: records accepted claims in batches (group commit). Why: every database
// statement costs the API a fixed price however small (on embedded PGlite, Postgres runs in
// WebAssembly on the API's own thread), and recording one claim at a time took ten statements in
// its own transaction. The writer gathers the claims that arrive together (those of one turn of
// the event loop, or within CLAIM_BATCH_WINDOW_MS when set; at most CLAIM_BATCH_MAX) and records
// them all in one transaction of five statements whatever their number (BEGIN and COMMIT included;
// one more each when it must take Idempotency-Keys or trigger sources' proofs, lock engagements or
// users, or free the keys and proofs of refused requests): take the requests' Idempotency-Keys,
// lock and re-read the batch's campaigns (and engagements; the users first where a trigger's limits
// count their claims), read the earlier claims the rules count, decide each claim in arrival order
// (a user's second claim sees the first; budgets and caps count down), then write the accepted
// claims, their relay jobs, the counters and the answers to keep for their Idempotency-Keys in one
// statement. Each request is answered once the transaction has committed: with its claim, or with
// the refusal it alone earned; if the transaction fails, every request of the batch gets its error
// and nothing is recorded.
import { randomUUID } from "node:crypto";
import { inArray, sql, type SQL } from "drizzle-orm";
import type { Address } from "viem";
import { zeroAddress } from "viem";
import type { Level } from "../../auth/principal.ts";
import type { Database } from "../../db/client.ts";
import { claims, idempotencyKeys, relayJobs } from "../../db/relaySchema.ts";
import { campaignEngagements, campaignTriggers, campaigns, tenants, triggerProofUses } from "../../db/schema.ts";
import { claimRefused, notFound, Problem } from "../../errors.ts";
import { CLAIM_KIND, claimBatchKey, type ClaimJobPayload } from "../../relay/kinds/claim.ts";
import { freeKeys, IdempotencyKeyTaken, takeKeys, type HeldKey } from "../../http/idempotency.ts";
import { checkedFieldsDiffer, type CheckedCampaignFields } from "./recentCampaigns.ts";
import {
  admitClaim,
  checkCampaign,
  limitsTrigger,
  lockUsers,
  readTally,
  type CountedClaim,
  type Point,
} from "./eligibility.ts";
import { anyOf } from "../../db/anyOf.ts";
import type { ProofUse } from "./triggerProof.ts";

type ClaimRow = typeof claims.$inferSelect;
type Campaign = typeof campaigns.$inferSelect;
type Engagement = typeof campaignEngagements.$inferSelect;

/** A claim that met every rule checkable outside the transaction, ready to be recorded. */
export type ClaimRequest = {
  tenantId: string;
  campaignId: string;
  /**
   * What the request's own checks read from the campaign (targeting, trigger): the writer refuses
   * it with `campaign-changed` when the locked row differs. Absent: nothing was read from it that
   * the writer does not check itself.
   */
  checkedAgainst?: CheckedCampaignFields;
  user: { id: string; walletAddress: string };
  source: Level;
  /** The business bringing the claim, and its engagement in the campaign. */
  business?: { id: string; walletAddress: string; engagementId: string };
  trigger?: typeof campaignTriggers.$inferSelect;
  /** The trigger source's proof that vouches for the claim: it pays this claim only (takeProofs). */
  proof?: ProofUse;
  location?: Point;
  /**
   * The request's Idempotency-Key: taken in the claim's transaction unless already taken (a request
   * whose key is taken by an earlier one fails with IdempotencyKeyTaken), and its answer
   * (acceptedAnswer) kept there.
   */
  idempotencyKey?: HeldKey;
};

type Recorded = Pick<ClaimRow, "id" | "onchainClaimId">;

/**
 * The 202 answer to an accepted claim. The writer keeps it for repeats of the request's
 * Idempotency-Key in the claim's own transaction, built in SQL the same way (see writeClaims).
 */
export const acceptedAnswer = (recorded: Recorded) => ({
  id: recorded.id,
  claimId: String(recorded.onchainClaimId),
  status: "PENDING" as const,
});
export const ACCEPTED_STATUS = 202;

export type ClaimWriter = {
  /** Records the claim with the next batch: its row once committed, or its refusal (a Problem). */
  record: (request: ClaimRequest) => Promise<Pick<ClaimRow, "id" | "onchainClaimId">>;
  /** Records what is waiting, then takes no more. */
  stop: () => Promise<void>;
};

export type CreateClaimWriterParameters = {
  db: Database;
  /** How long the first claim of a batch waits for others; 0: until the end of the event loop's turn. */
  windowMs: number;
  /** A batch is recorded at once when this many claims wait. */
  maxBatch: number;
};

/** Why a request was not recorded: a rule refused it, or its Idempotency-Key was taken. */
type Refusal = Problem | IdempotencyKeyTaken;
type Outcome = { recorded: Recorded } | { refused: Refusal };
type Waiting = { request: ClaimRequest; resolve: (row: Recorded) => void; reject: (error: unknown) => void };
type TenantChain = { chainId: number; registry: string };

export function createClaimWriter({ db, windowMs, maxBatch }: CreateClaimWriterParameters): ClaimWriter {
  const waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
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
    clearTimeout(timer as NodeJS.Timeout);
    clearImmediate(timer as NodeJS.Immediate);
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
        else if (!timer && !writing) timer = windowMs > 0 ? setTimeout(flush, windowMs) : setImmediate(flush);
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

/** The request was checked against a campaign that has changed since: checked again, it may fare otherwise. */
const CAMPAIGN_CHANGED = "campaign-changed";
export const campaignChanged = () =>
  claimRefused(409, CAMPAIGN_CHANGED, "The campaign changed while this claim was being checked; send it again.");
export const isCampaignChanged = (error: unknown) =>
  error instanceof Problem && error.extensions.rule === CAMPAIGN_CHANGED;

/** Each request's campaign and engagement as the transaction read them, or why it is refused. */
function counted(
  request: ClaimRequest,
  current: Map<string, Campaign>,
  engagements: Map<string, Engagement>,
  now: Date,
): CountedClaim {
  const campaign = current.get(request.campaignId);
  if (!campaign || campaign.tenantId !== request.tenantId) throw notFound("campaign");
  if (request.checkedAgainst && checkedFieldsDiffer(request.checkedAgainst, campaign)) throw campaignChanged();
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
    // First the keys that these requests' routes left to the transaction: a repeat of a request
    // recorded before (or being recorded by another transaction, which this one then waits for)
    // is answered by that request, and takes no part in this batch.
    const keysToTake = requests.flatMap((request) =>
      request.idempotencyKey && !request.idempotencyKey.taken ? [request.idempotencyKey] : [],
    );
    const taken = await takeKeys(tx, keysToTake);
    const keyRefusal = (request: ClaimRequest) =>
      request.idempotencyKey && !request.idempotencyKey.taken && !taken.has(request.idempotencyKey)
        ? new IdempotencyKeyTaken()
        : undefined;
    // The campaign rows locked next serialise every recording of a campaign's claims, which is all
    // that a per-user cap counts; a trigger's limits count a user's claims across campaigns, so
    // those users are locked first (in the same order everywhere: no deadlock).
    await lockUsers(
      tx,
      requests.filter((request) => limitsTrigger(request.trigger)).map((request) => request.user.id),
    );
    const campaignIds = [...new Set(requests.map((request) => request.campaignId))];
    const campaignRows = await tx
      .select()
      .from(campaigns)
      .where(anyOf(campaigns.id, campaignIds))
      .orderBy(campaigns.id)
      .for("update");
    const engagementIds = [...new Set(requests.flatMap((request) => request.business?.engagementId ?? []))];
    const engagementRows = engagementIds.length
      ? await tx
          .select()
          .from(campaignEngagements)
          .where(anyOf(campaignEngagements.id, engagementIds))
          .orderBy(campaignEngagements.id)
          .for("update")
      : [];
    const current = new Map(campaignRows.map((row) => [row.id, row]));
    const engagements = new Map(engagementRows.map((row) => [row.id, row]));

    // A proof used before this batch is refused; the rest are taken, each for the first of its
    // requests that is accepted (below).
    const proofsTaken = await takeProofs(
      tx,
      requests.flatMap((request) => (request.proof && !keyRefusal(request) ? [request.proof] : [])),
    );
    const proofUsed = () =>
      claimRefused(409, "trigger-proof-used", "This trigger source's proof has paid a claim already.");
    const proofRefusal = (request: ClaimRequest) =>
      request.proof && !proofsTaken.has(proofName(request.proof)) ? proofUsed() : undefined;
    const prepared = requests.map(
      (request): CountedClaim | Refusal =>
        keyRefusal(request) ?? proofRefusal(request) ?? decide(() => counted(request, current, engagements, now)),
    );
    const tally = await readTally(tx, {
      claims: prepared.filter((claim): claim is CountedClaim => !(claim instanceof Error)),
      campaigns: campaignRows,
      engagements: engagementRows,
      now,
    });
    // In arrival order: each accepted claim counts against the next ones, and spends its proof.
    const proofsSpent = new Set<string>();
    const decisions = prepared.map((claim, index) => {
      if (claim instanceof Error) return claim;
      const proof = requests[index]!.proof && proofName(requests[index]!.proof!);
      if (proof && proofsSpent.has(proof)) return proofUsed();
      return decide(() => {
        admitClaim(claim, tally, now);
        if (proof) proofsSpent.add(proof);
        return claim;
      });
    });
    const accepted = requests.flatMap((request, index) => {
      const claim = decisions[index]!;
      return claim instanceof Error ? [] : [{ request, campaign: claim.campaign, id: randomUUID() }];
    });
    const recorded = await writeClaims(tx, accepted, tenantChains);
    // A refused request leaves its key and its proof free, for a retry once the cause is gone.
    await freeProofs(
      tx,
      [...proofsTaken.values()].filter((proof) => !proofsSpent.has(proofName(proof))),
    );
    await freeKeys(
      tx,
      requests.flatMap((request, index) =>
        decisions[index] instanceof Problem && request.idempotencyKey && taken.has(request.idempotencyKey)
          ? [request.idempotencyKey]
          : [],
      ),
    );
    return decisions.map((claim, index): Outcome => {
      if (claim instanceof Error) return { refused: claim };
      return { recorded: recorded.get(requests[index]!)! };
    });
  });
}

const proofName = (proof: { triggerSourceId: string; proofHash: string }) =>
  `${proof.triggerSourceId}:${proof.proofHash}`;

/**
 * Records these proofs as used; the ones that were free, by name. The proofs go as arrays: one
 * statement text whatever their number.
 */
async function takeProofs(db: Database, uses: ProofUse[]): Promise<Map<string, ProofUse>> {
  const distinct = new Map(uses.map((proof) => [proofName(proof), proof]));
  if (!distinct.size) return new Map();
  const proofs = [...distinct.values()];
  const taken = await db.execute<{ triggerSourceId: string; proofHash: string }>(sql`
    insert into ${triggerProofUses} (trigger_source_id, proof_hash, expires_at)
    select * from unnest(
      ${sql.param(proofs.map((proof) => proof.triggerSourceId))}::uuid[],
      ${sql.param(proofs.map((proof) => proof.proofHash))}::text[],
      ${sql.param(proofs.map((proof) => proof.expiresAt.toISOString()))}::timestamptz[]
    )
    on conflict do nothing
    returning trigger_source_id as "triggerSourceId", proof_hash as "proofHash"`);
  return new Map(taken.rows.map((row) => [proofName(row), distinct.get(proofName(row))!]));
}

async function freeProofs(db: Database, proofs: ProofUse[]) {
  if (!proofs.length) return;
  await db.execute(sql`
    delete from ${triggerProofUses} where (trigger_source_id, proof_hash) in (
      select * from unnest(
        ${sql.param(proofs.map((proof) => proof.triggerSourceId))}::uuid[],
        ${sql.param(proofs.map((proof) => proof.proofHash))}::text[]
      )
    )`);
}

type Accepted = { request: ClaimRequest; campaign: Campaign; id: string };

/**
 * One statement: the accepted claims, their relay jobs (which carry the on-chain claim id the
 * insert drew), the campaigns' and engagements' live_claims, and each keyed request's answer.
 */
async function writeClaims(
  tx: Database,
  accepted: Accepted[],
  tenantChains: Map<string, TenantChain>,
): Promise<Map<ClaimRequest, Recorded>> {
  if (!accepted.length) return new Map();
  const rows = accepted.map(({ request, campaign, id }) => {
    const chain = tenantChains.get(request.tenantId);
    if (!chain) throw new Error(`tenant ${request.tenantId} has no contracts`);
    const payload: Omit<ClaimJobPayload, "onchainClaimId"> = {
      claimId: id,
      onchainCampaignId: campaign.onchainCampaignId!,
      recipient: request.user.walletAddress as Address,
      source: request.source,
      business: (request.business?.walletAddress ?? zeroAddress) as Address,
    };
    const values: SQL[] = [
      sql`${id}::uuid`,
      sql`${randomUUID()}::uuid`,
      sql`${request.tenantId}::uuid`,
      sql`${request.campaignId}::uuid`,
      sql`${request.user.id}::uuid`,
      sql`${request.user.walletAddress}::text`,
      sql`${request.source}::access_level`,
      sql`${request.business?.id ?? null}::uuid`,
      sql`${request.business?.engagementId ?? null}::uuid`,
      sql`${request.proof?.triggerSourceId ?? null}::uuid`,
      sql`${request.location?.lat ?? null}::double precision`,
      sql`${request.location?.lng ?? null}::double precision`,
      sql`${chain.chainId}::integer`,
      sql`${claimBatchKey(chain.registry)}::text`,
      sql`${JSON.stringify(payload)}::jsonb`,
      sql`${request.idempotencyKey?.owner ?? null}::text`,
      sql`${request.idempotencyKey?.key ?? null}::text`,
    ];
    return sql`(${sql.join(values, sql`, `)})`;
  });
  // Foreign keys are checked at the end of the statement, so a claim may name the job inserted beside it.
  const result = await tx.execute<{ id: string; onchain_claim_id: string | number }>(sql`
    with batch (id, job_id, tenant_id, campaign_id, user_id, recipient, source, business_id, engagement_id,
                trigger_source_id, latitude, longitude, chain_id, batch_key, payload, key_owner, key)
      as (values ${sql.join(rows, sql`, `)}),
    new_claims as (
      insert into ${claims} (id, job_id, tenant_id, campaign_id, user_id, recipient, source, business_id,
                             trigger_source_id, latitude, longitude)
      select id, job_id, tenant_id, campaign_id, user_id, recipient, source, business_id,
             trigger_source_id, latitude, longitude
      from batch
      returning id, onchain_claim_id
    ),
    new_jobs as (
      insert into ${relayJobs} (id, tenant_id, chain_id, kind, batch_key, payload)
      select batch.job_id, batch.tenant_id, batch.chain_id, ${CLAIM_KIND}, batch.batch_key,
             batch.payload || jsonb_build_object('onchainClaimId', new_claims.onchain_claim_id::text)
      from batch join new_claims using (id)
    ),
    campaign_counts as (
      update ${campaigns} set live_claims = live_claims + counted.accepted
      from (select campaign_id, count(*)::integer as accepted from batch group by campaign_id) as counted
      where ${campaigns.id} = counted.campaign_id
    ),
    engagement_counts as (
      update ${campaignEngagements} set live_claims = live_claims + counted.accepted
      from (select engagement_id, count(*)::integer as accepted from batch
            where engagement_id is not null group by engagement_id) as counted
      where ${campaignEngagements.id} = counted.engagement_id
    ),
    answers as (
      update ${idempotencyKeys} set status = ${ACCEPTED_STATUS},
        body = jsonb_build_object('id', new_claims.id, 'claimId', new_claims.onchain_claim_id::text, 'status', 'PENDING')
      from batch join new_claims using (id)
      where ${idempotencyKeys.owner} = batch.key_owner and ${idempotencyKeys.key} = batch.key
    )
    select id, onchain_claim_id from new_claims`);
  const onchainIds = new Map(result.rows.map((row) => [row.id, Number(row.onchain_claim_id)]));
  return new Map(accepted.map(({ request, id }) => [request, { id, onchainClaimId: onchainIds.get(id)! }]));
}
