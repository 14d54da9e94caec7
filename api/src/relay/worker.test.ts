import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { encodeFunctionData, getAddress, parseEventLogs, zeroAddress, type Address } from "viem";
import { campaignRegistryAbi } from "../../../abi/campaignRegistry.ts";
import { ClaimSource } from "../../../abi/enums.ts";
import { rewardTokenAbi } from "../../../abi/rewardToken.ts";
import pino from "pino";
import { platformEvents, relayJobs, relayTransactions } from "../db/relaySchema.ts";
import {
  createTestTenant,
  startTestApi,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../test/harness.ts";
import {
  CHAIN_ID,
  issuedEvents,
  jobRow,
  jobRows,
  newRecipient,
  newReference,
  node,
  pointsBalance,
  testRelayer,
  transactionRow,
  waitFor,
  waitForJob,
} from "../../test/relay.ts";
import { jobContext, type RelayerSettings } from "./context.ts";
import type { JobKind } from "./jobs.ts";
import { failJobs } from "./submitter.ts";
import { enqueue } from "./jobs.ts";
import { enqueueIssue } from "./kinds/issue.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const REWARD_CLASS = 7n;

/** A test kind that batches claims of reward class REWARD_CLASS through claimBatch, and records what it was told. */
function rewardClaimKind(registry: Address) {
  const settled: string[] = [];
  const failed: { id: string; reason: string }[] = [];
  const kind: JobKind<{ campaignId: string; claimId: string; recipient: Address }> = {
    name: "test.rewardClaim",
    maxBatch: 8,
    encode: async (jobs) => ({
      to: registry,
      data: encodeFunctionData({
        abi: campaignRegistryAbi,
        functionName: "claimBatch",
        args: [
          jobs.map(({ payload }) => ({
            campaignId: BigInt(payload.campaignId),
            claimId: BigInt(payload.claimId),
            recipient: payload.recipient,
            source: ClaimSource.SYSTEM,
            business: zeroAddress,
          })),
        ],
      }),
    }),
    settle: async (jobs) => void settled.push(...jobs.map((job) => job.id)),
    fail: async (jobs, reason) => void failed.push(...jobs.map((job) => ({ id: job.id, reason }))),
  };
  return { kind, settled, failed };
}

for (const database of testDatabases()) {
  describe(`relayer on ${database.name}`, () => {
    let api: TestApi;
    let tenant: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      tenant = await createTestTenant(api);
    });
    after(() => api.close());

    it("carries a job PENDING → SUBMITTED → CONFIRMED (after the configured confirmations), tokens on chain", async () => {
      const { db } = api.services;
      const to = newRecipient();
      const reference = newReference();
      const id = await enqueueIssue(db, {
        tenantId: tenant.id,
        chainId: CHAIN_ID,
        to,
        amount: "1234",
        reason: "GRANT",
        reference,
      });
      assert.equal((await jobRow(db, id)).status, "PENDING");
      const relayer = testRelayer(api, { confirmations: 2 });
      try {
        // Mined in one block, but a second confirmation is required: still SUBMITTED.
        const submitted = await waitFor("the transaction to be mined", async () => {
          const job = await jobRow(db, id);
          if (job.status !== "SUBMITTED" || !job.transactionId) return undefined;
          const transaction = await transactionRow(db, job.transactionId);
          return transaction.status === "MINED" ? { job, transaction } : undefined;
        });
        assert.equal(submitted.transaction.hashes.length, 1);
        assert.equal(submitted.transaction.minedHash, submitted.transaction.hashes[0]);
        assert.equal(await pointsBalance(chain, tenant, to), 1234n);
        assert.equal((await jobRow(db, id)).status, "SUBMITTED");
        await node(chain).mine();
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal(confirmed.attempts, 1);
        const transaction = await transactionRow(db, confirmed.transactionId!);
        assert.equal(transaction.status, "CONFIRMED");
        const [event] = await issuedEvents(chain, tenant, reference);
        assert.equal(event?.transactionHash, transaction.minedHash);
        assert.equal(event?.args.to, getAddress(to));
        assert.equal(event?.args.amount, 1234n);
        assert.ok(BigInt(transaction.gasUsed!) > 21_000n);
      } finally {
        await relayer.stop();
      }
    });

    it("fails only jobs still waiting for a transaction: one another process carried meanwhile is left to it", async () => {
      const { db } = api.services;
      const registry = tenant.tenant.contracts.campaignRegistry as Address;
      const { kind, failed } = rewardClaimKind(registry);
      const queue = () =>
        enqueue(db, {
          tenantId: tenant.id,
          chainId: CHAIN_ID,
          kind: kind.name,
          payload: { campaignId: "1", claimId: String(Date.now()), recipient: newRecipient() },
        });
      const [waiting, carried] = [await queue(), await queue()];
      // The second was carried by another process while this one simulated it.
      const [transaction] = await db
        .insert(relayTransactions)
        .values({
          chainId: CHAIN_ID,
          signer: newRecipient(),
          nonce: 0,
          to: registry,
          data: "0x",
          gasLimit: "100000",
          maxFeePerGas: "1",
          maxPriorityFeePerGas: "1",
        })
        .returning();
      await db
        .update(relayJobs)
        .set({ status: "SUBMITTED", transactionId: transaction!.id })
        .where(eq(relayJobs.id, carried));
      const context = {
        db,
        logger: pino({ level: "silent" }),
        kinds: new Map([[kind.name, kind]]),
        settings: {} as RelayerSettings,
      };
      const jobs = await jobRows(db, [waiting, carried]);
      await failJobs(context, kind, jobs, "reverts", await jobContext(db, chain.chains.get(CHAIN_ID)!, tenant.id));
      assert.equal((await jobRow(db, waiting)).status, "FAILED");
      assert.equal((await jobRow(db, carried)).status, "SUBMITTED");
      assert.deepEqual(failed, [{ id: waiting, reason: "reverts" }]);
    });

    it("takes a repeated reference as done (issued once) and fails a job that reverts, with its reason", async () => {
      const { db } = api.services;
      const to = newRecipient();
      const reference = newReference();
      const first = await enqueueIssue(db, {
        tenantId: tenant.id,
        chainId: CHAIN_ID,
        to,
        amount: "5",
        reason: "GRANT",
        reference,
      });
      const relayer = testRelayer(api);
      try {
        assert.equal((await waitForJob(db, first, ["CONFIRMED", "FAILED"])).status, "CONFIRMED");
        const repeat = await enqueueIssue(db, {
          tenantId: tenant.id,
          chainId: CHAIN_ID,
          to,
          amount: "5",
          reason: "GRANT",
          reference,
        });
        const bad = await enqueueIssue(db, {
          tenantId: tenant.id,
          chainId: CHAIN_ID,
          to: zeroAddress,
          amount: "5",
          reason: "GRANT",
          reference: newReference(),
        });
        const repeated = await waitForJob(db, repeat, ["CONFIRMED", "FAILED"]);
        assert.equal(repeated.status, "CONFIRMED");
        // The repeat never got a transaction of its own: its simulation reverted with TokenReferenceUsed.
        assert.equal(repeated.transactionId, null);
        const failed = await waitForJob(db, bad, ["CONFIRMED", "FAILED"]);
        assert.equal(failed.status, "FAILED");
        assert.match(failed.error!, /^ERC20InvalidReceiver\(0x0{40}\)$/);
        assert.equal(failed.transactionId, null);
        assert.equal(await pointsBalance(chain, tenant, to), 5n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
      } finally {
        await relayer.stop();
      }
    });

    it("bisects a reverting batch: the job that reverts alone fails, the others confirm in one transaction", async () => {
      const { db } = api.services;
      const { publicClient, walletClient } = chain.chains.get(CHAIN_ID)!;
      const contracts = tenant.tenant.contracts;
      // Set up before the relayer starts, so its lane starts after these nonces.
      await publicClient.waitForTransactionReceipt({
        hash: await walletClient.writeContract({
          address: contracts.rewardToken,
          abi: rewardTokenAbi,
          functionName: "defineClass",
          args: [REWARD_CLASS, 0n, ""],
        }),
      });
      const { timestamp } = await publicClient.getBlock();
      const receipt = await publicClient.waitForTransactionReceipt({
        hash: await walletClient.writeContract({
          address: contracts.campaignRegistry,
          abi: campaignRegistryAbi,
          functionName: "createCampaign",
          args: [
            { start: Number(timestamp), end: Number(timestamp) + 86_400, perUserLimit: 0, budget: 100n },
            [{ token: contracts.rewardToken, id: REWARD_CLASS, amount: 1n }],
          ],
        }),
      });
      const [created] = parseEventLogs({ abi: campaignRegistryAbi, eventName: "CampaignCreated", logs: receipt.logs });
      const campaignId = created!.args.campaignId.toString();
      const { kind, settled, failed } = rewardClaimKind(contracts.campaignRegistry);
      // A contract that does not accept ERC-1155 makes the whole claimBatch revert.
      const recipients: Address[] = [
        newRecipient(),
        newRecipient(),
        newRecipient(),
        contracts.pointsToken,
        newRecipient(),
        newRecipient(),
      ];
      const ids: string[] = [];
      for (const [index, recipient] of recipients.entries()) {
        ids.push(
          await enqueue(db, {
            tenantId: tenant.id,
            chainId: CHAIN_ID,
            kind: kind.name,
            batchKey: `claims:${contracts.campaignRegistry}`,
            payload: { campaignId, claimId: String(1000 + index), recipient },
          }),
        );
      }
      const relayer = testRelayer(api, { kinds: [kind] });
      try {
        await waitFor("every job to settle", async () =>
          (await jobRows(db, ids)).every((job) => job.status === "CONFIRMED" || job.status === "FAILED"),
        );
        const jobs = new Map((await jobRows(db, ids)).map((job) => [job.id, job]));
        const bad = jobs.get(ids[3]!)!;
        assert.equal(bad.status, "FAILED");
        assert.match(bad.error!, /^ERC1155InvalidReceiver\(/);
        assert.deepEqual(failed, [{ id: bad.id, reason: bad.error }]);
        const good = ids.filter((_, index) => index !== 3).map((id) => jobs.get(id)!);
        assert.ok(good.every((job) => job.status === "CONFIRMED"));
        // Once the reverting job is out, the other five share one transaction.
        assert.equal(new Set(good.map((job) => job.transactionId)).size, 1);
        assert.deepEqual([...settled].sort(), good.map((job) => job.id).sort());
        for (const [index, recipient] of recipients.entries()) {
          const balance = await publicClient.readContract({
            address: contracts.rewardToken,
            abi: rewardTokenAbi,
            functionName: "balanceOf",
            args: [recipient, REWARD_CLASS],
          });
          assert.equal(balance, index === 3 ? 0n : 1n);
        }
      } finally {
        await relayer.stop();
      }
    });

    it("shares each round between the tenants with jobs waiting: one tenant's backlog does not hold another's job back", async () => {
      const { db } = api.services;
      const [busy, quiet] = [await createTestTenant(api), await createTestTenant(api)];
      const grant = (tenantId: string) =>
        enqueueIssue(db, {
          tenantId,
          chainId: CHAIN_ID,
          to: newRecipient(),
          amount: "1",
          reason: "GRANT",
          reference: newReference(),
        });
      // Queued before the other tenant's one job: with 4 jobs a round, first come first served would
      // send it in the fourth round, after 12 transactions of the busy tenant.
      const backlog: string[] = [];
      for (let index = 0; index < 12; index++) backlog.push(await grant(busy.id));
      const waiting = await grant(quiet.id);
      const relayer = testRelayer(api, { claimLimit: 4 });
      try {
        const done = await Promise.all(
          [...backlog, waiting].map((id) => waitForJob(db, id, ["CONFIRMED", "FAILED"], 60_000)),
        );
        assert.deepEqual(new Set(done.map((job) => job.status)), new Set(["CONFIRMED"]));
        const nonceOf = async (id: string) => (await transactionRow(db, (await jobRow(db, id)).transactionId!)).nonce;
        const backlogNonces = await Promise.all(backlog.map(nonceOf));
        const quietNonce = await nonceOf(waiting);
        const busyBefore = backlogNonces.filter((nonce) => nonce < quietNonce).length;
        // In the first round: at most the busy tenant's half of it (2 jobs) went before.
        assert.ok(busyBefore <= 2, `${busyBefore} of the busy tenant's transactions went first`);
      } finally {
        await relayer.stop();
      }
    });

    it("holds back a tenant over its gas per hour, and records a low signer balance once an hour", async () => {
      const { db } = api.services;
      const other = await createTestTenant(api);
      const fresh = await createTestTenant(api);
      const relayer = testRelayer(api, {
        tenantGasPerHour: 1,
        tenantWaitMs: 60_000,
        lowBalanceWei: 10n ** 30n,
        balanceCheckMs: 10,
      });
      try {
        // A tenant with no gas used yet may send one transaction; then it is over the limit.
        const first = await enqueueIssue(db, {
          tenantId: other.id,
          chainId: CHAIN_ID,
          to: newRecipient(),
          amount: "1",
          reason: "GRANT",
          reference: newReference(),
        });
        assert.equal((await waitForJob(db, first, ["CONFIRMED", "FAILED"])).status, "CONFIRMED");
        const second = await enqueueIssue(db, {
          tenantId: other.id,
          chainId: CHAIN_ID,
          to: newRecipient(),
          amount: "1",
          reason: "GRANT",
          reference: newReference(),
        });
        await waitFor("the job to be held back", async () => {
          const job = await jobRow(db, second);
          return job.status === "PENDING" && job.availableAt.getTime() > Date.now() + 30_000;
        });
        // Another tenant, under its limit, is carried meanwhile.
        const third = await enqueueIssue(db, {
          tenantId: fresh.id,
          chainId: CHAIN_ID,
          to: newRecipient(),
          amount: "1",
          reason: "GRANT",
          reference: newReference(),
        });
        assert.equal((await waitForJob(db, third, ["CONFIRMED", "FAILED"])).status, "CONFIRMED");
        assert.equal((await jobRow(db, second)).status, "PENDING");
        const events = await db.select().from(platformEvents).where(eq(platformEvents.type, "signer.balance_low"));
        assert.equal(events.length, 1);
        assert.equal(events[0]!.tenantId, null);
        assert.equal(events[0]!.data.signer, chain.chains.get(CHAIN_ID)!.walletClient.account.address);
        assert.equal(events[0]!.data.chainId, CHAIN_ID);
      } finally {
        await relayer.stop();
      }
    });
  });
}

describe("the API's own relayer", () => {
  it("runs when RELAYER_ENABLED is on and stops with the API", async () => {
    const api = await startTestApi({
      database: { kind: "memory" },
      chain,
      environment: { RELAYER_ENABLED: "true", RELAYER_POLL_INTERVAL_MS: "25" },
    });
    try {
      const tenant = await createTestTenant(api);
      const to = newRecipient();
      const id = await enqueueIssue(api.services.db, {
        tenantId: tenant.id,
        chainId: CHAIN_ID,
        to,
        amount: "9",
        reason: "PURCHASE",
        reference: newReference(),
      });
      assert.equal((await waitForJob(api.services.db, id, ["CONFIRMED", "FAILED"])).status, "CONFIRMED");
      assert.equal(await pointsBalance(chain, tenant, to), 9n);
    } finally {
      await api.close();
    }
  });
});
