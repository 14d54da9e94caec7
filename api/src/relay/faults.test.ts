// The chain misbehaving under the relayer: a stuck transaction, a dropped or reorged one, a nonce
// taken by another transaction, a lane out of step with the chain after a restart, fees above the
// relayer's ceiling.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { and, eq } from "drizzle-orm";
import type { Hash } from "viem";
import { relayJobs, relayTransactions, signerLanes } from "../db/relaySchema.ts";
import {
  createTestTenant,
  startTestApi,
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
  newRecipient,
  newReference,
  node,
  platformWallet,
  pointsBalance,
  recordingLogger,
  testRelayer,
  transactionRow,
  waitFor,
  waitForJob,
} from "../../test/relay.ts";
import { jobContext } from "./context.ts";
import { enqueueIssue, issueKind } from "./kinds/issue.ts";
import { platformSigner } from "./signers.ts";
import { broadcast, currentFees, signFields } from "./transactions.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`relayer faults on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let tenant: TestTenant;
    const platform = () => chain.chains.get(CHAIN_ID)!.walletClient.account.address;
    const { publicClient } = { publicClient: () => chain.chains.get(CHAIN_ID)!.publicClient };

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      api = await startTestApi({ database: opened.parameters, chain });
      tenant = await createTestTenant(api);
    });
    after(async () => {
      await node(chain).setAutomine(true);
      await api.close();
      await drop();
    });

    const issue = (reference = newReference(), to = newRecipient()) =>
      enqueueIssue(api.services.db, {
        tenantId: tenant.id,
        chainId: CHAIN_ID,
        to,
        amount: "77",
        reason: "GRANT",
        reference,
      });

    it("replaces a stuck transaction (mining paused, then its fee too low) with the same nonce and ≥10% higher fees", async () => {
      const { db } = api.services;
      const chainNode = node(chain);
      const reference = newReference();
      const to = newRecipient();
      await chainNode.setAutomine(false);
      const relayer = testRelayer(api, { replaceAfterMs: 400 });
      try {
        const id = await issue(reference, to);
        const submitted = await waitForJob(db, id, ["SUBMITTED"]);
        const first = await transactionRow(db, submitted.transactionId!);
        // The next blocks cost far more than the fee it offered: it is not mined.
        await chainNode.setNextBaseFee(100_000_000_000n);
        await chainNode.mine();
        assert.equal(await publicClient().getTransactionCount({ address: platform() }), first.nonce);
        const replaced = await waitFor("a replacement", async () => {
          const row = await transactionRow(db, first.id);
          return row.hashes.length >= 2 ? row : undefined;
        });
        await chainNode.mine();
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        const row = await transactionRow(db, first.id);
        assert.equal(row.status, "CONFIRMED");
        assert.equal(row.nonce, first.nonce);
        assert.equal(row.hashes[0], first.hashes[0]);
        assert.ok(row.hashes.includes(row.minedHash!));
        assert.notEqual(row.minedHash, first.hashes[0]);
        const mined = await publicClient().getTransaction({ hash: row.minedHash as Hash });
        assert.equal(mined.nonce, first.nonce);
        assert.ok(mined.maxFeePerGas! * 10n >= BigInt(first.maxFeePerGas) * 11n, "maxFeePerGas up ≥ 10%");
        assert.ok(
          mined.maxPriorityFeePerGas! * 10n >= BigInt(first.maxPriorityFeePerGas) * 11n,
          "maxPriorityFeePerGas up ≥ 10%",
        );
        assert.ok(replaced.hashes.length >= 2);
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
      } finally {
        await chainNode.setAutomine(true);
        await relayer.stop();
      }
    });

    it("sends a transaction again when a reorg removes its block, and its job confirms once", async () => {
      const { db } = api.services;
      const chainNode = node(chain);
      const reference = newReference();
      const to = newRecipient();
      const relayer = testRelayer(api, { confirmations: 3, replaceAfterMs: 300 });
      try {
        const snapshot = await chainNode.snapshot();
        const id = await issue(reference, to);
        const mined = await waitFor("the transaction to be mined", async () => {
          const job = await jobRow(db, id);
          if (!job.transactionId) return undefined;
          const row = await transactionRow(db, job.transactionId);
          return row.status === "MINED" ? row : undefined;
        });
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        // The block that held it is gone, and so is the transaction.
        await chainNode.revert(snapshot);
        assert.equal(await pointsBalance(chain, tenant, to), 0n);
        const again = await waitFor("the transaction to be mined again", async () => {
          const row = await transactionRow(db, mined.id);
          return row.status === "MINED" && row.hashes.length > mined.hashes.length ? row : undefined;
        });
        assert.equal(again.nonce, mined.nonce);
        await chainNode.mine(2);
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal(confirmed.transactionId, mined.id);
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        const events = await issuedEvents(chain, tenant, reference);
        assert.equal(events.length, 1);
        assert.equal(events[0]!.transactionHash, (await transactionRow(db, mined.id)).minedHash);
      } finally {
        await relayer.stop();
      }
    });

    it("requeues the jobs of a transaction whose nonce another transaction used, and carries them once", async () => {
      const { db } = api.services;
      const chainNode = node(chain);
      const reference = newReference();
      const to = newRecipient();
      await chainNode.setAutomine(false);
      const relayer = testRelayer(api, { replaceAfterMs: 60_000 });
      try {
        const id = await issue(reference, to);
        const submitted = await waitForJob(db, id, ["SUBMITTED"]);
        const first = await transactionRow(db, submitted.transactionId!);
        // The node forgets it, and another transaction of the same account takes its nonce.
        await chainNode.drop(first.hashes[0] as Hash);
        await platformWallet(chain).sendTransaction({ to: platform(), value: 0n, nonce: first.nonce });
        await chainNode.setAutomine(true);
        await chainNode.mine();
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.notEqual(confirmed.transactionId, first.id);
        assert.equal(confirmed.attempts, 2);
        assert.equal((await transactionRow(db, first.id)).status, "DROPPED");
        assert.ok((await transactionRow(db, confirmed.transactionId!)).nonce > first.nonce);
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
      } finally {
        await chainNode.setAutomine(true);
        await relayer.stop();
      }
    });

    it("heals a lane behind the chain (nonce too low) while running", async () => {
      const { db } = api.services;
      const relayer = testRelayer(api);
      try {
        // Warm up the lane, then use nonces behind its back.
        assert.equal((await waitForJob(db, await issue(), ["CONFIRMED", "FAILED"])).status, "CONFIRMED");
        for (let i = 0; i < 2; i += 1) await platformWallet(chain).sendTransaction({ to: platform(), value: 0n });
        const reference = newReference();
        const to = newRecipient();
        const id = await issue(reference, to);
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        // Its first transaction had a nonce the chain had used: dropped, and the job carried again.
        assert.equal(confirmed.attempts, 2);
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
        const [lane] = await db.select().from(signerLanes).where(eq(signerLanes.signer, platform()));
        assert.equal(lane!.nextNonce, await publicClient().getTransactionCount({ address: platform() }));
      } finally {
        await relayer.stop();
      }
    });

    it("sends a transaction that a node refused for a gap below it again, unchanged, as soon as the gap closes", async () => {
      const { db } = api.services;
      const lane = { chain: chain.chains.get(CHAIN_ID)!, signer: platformSigner(chain.chains.get(CHAIN_ID)!) };
      // Another process sharing the queue took nonce n and has not broadcast it yet (or its broadcast
      // is slower than ours): a node that queues nothing (Hardhat's automine, a rollup's sequencer)
      // refuses n + 1 until n reaches it.
      const n = await publicClient().getTransactionCount({ address: platform(), blockTag: "pending" });
      const fields = {
        nonce: n,
        to: newRecipient(),
        data: "0x" as const,
        gasLimit: 21_000n,
        ...(await currentFees(lane.chain)),
      };
      const other = await signFields(lane.signer, CHAIN_ID, fields);
      await db.insert(relayTransactions).values({
        chainId: CHAIN_ID,
        signer: platform(),
        nonce: n,
        to: fields.to,
        data: fields.data,
        gasLimit: fields.gasLimit.toString(),
        maxFeePerGas: fields.maxFeePerGas.toString(),
        maxPriorityFeePerGas: fields.maxPriorityFeePerGas.toString(),
        hashes: [other.hash],
      });
      await db
        .update(signerLanes)
        .set({ nextNonce: n + 1 })
        .where(and(eq(signerLanes.chainId, CHAIN_ID), eq(signerLanes.signer, platform())));
      // Replacing waits a minute: the test passes only if the refused one goes out again without it.
      const relayer = testRelayer(api, { replaceAfterMs: 60_000 });
      const reference = newReference();
      const to = newRecipient();
      try {
        const id = await issue(reference, to);
        const submitted = await waitForJob(db, id, ["SUBMITTED"]);
        const refused = await waitFor("the node's refusal", async () => {
          const row = await transactionRow(db, submitted.transactionId!);
          return row.error ? row : undefined;
        });
        assert.equal(refused.nonce, n + 1);
        assert.match(refused.error!, /nonce too high/i);
        await broadcast(lane.chain, other.serialized);
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"], 15_000);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal(confirmed.attempts, 1);
        const row = await transactionRow(db, submitted.transactionId!);
        assert.deepEqual(row.hashes, refused.hashes);
        assert.equal(row.minedHash, refused.hashes[0]);
        assert.equal(row.error, null);
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
      } finally {
        await relayer.stop();
      }
    });

    it("after a restart, moves a lane that ran ahead of the chain back, and fills a gap below an open transaction", async () => {
      const { db } = api.services;
      const where = and(eq(signerLanes.chainId, CHAIN_ID), eq(signerLanes.signer, platform()));
      // Ahead, with nothing holding the nonces between: the lane comes back to the chain's count.
      const count = await publicClient().getTransactionCount({ address: platform(), blockTag: "pending" });
      await db
        .insert(signerLanes)
        .values({ chainId: CHAIN_ID, signer: platform(), nextNonce: count + 5 })
        .onConflictDoUpdate({
          target: [signerLanes.chainId, signerLanes.signer],
          set: { nextNonce: count + 5 },
        });
      let relayer = testRelayer(api);
      const reference = newReference();
      const to = newRecipient();
      try {
        const id = await issue(reference, to);
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal((await transactionRow(db, confirmed.transactionId!)).nonce, count);
      } finally {
        await relayer.stop();
      }
      // A transaction recorded at nonce n+2 (a crash before it was broadcast), nothing at n and n+1.
      const n = await publicClient().getTransactionCount({ address: platform(), blockTag: "pending" });
      const holeReference = newReference();
      const holeRecipient = newRecipient();
      const jobId = await issue(holeReference, holeRecipient);
      const lane = { chain: chain.chains.get(CHAIN_ID)!, signer: platformSigner(chain.chains.get(CHAIN_ID)!) };
      const job = await jobRow(db, jobId);
      const call = await issueKind.encode([job as any], await jobContext(db, lane.chain, tenant.id));
      const fields = { nonce: n + 2, ...call, gasLimit: 300_000n, ...(await currentFees(lane.chain)) };
      const { hash } = await signFields(lane.signer, CHAIN_ID, fields);
      const [open] = await db
        .insert(relayTransactions)
        .values({
          chainId: CHAIN_ID,
          signer: platform(),
          nonce: n + 2,
          to: call.to,
          data: call.data,
          gasLimit: "300000",
          maxFeePerGas: fields.maxFeePerGas.toString(),
          maxPriorityFeePerGas: fields.maxPriorityFeePerGas.toString(),
          hashes: [hash],
          lastSentAt: new Date(Date.now() - 3600_000),
        })
        .returning();
      await db.update(relayJobs).set({ status: "SUBMITTED", transactionId: open!.id }).where(eq(relayJobs.id, jobId));
      await db
        .update(signerLanes)
        .set({ nextNonce: n + 3 })
        .where(where);
      relayer = testRelayer(api, { replaceAfterMs: 200 });
      try {
        const confirmed = await waitForJob(db, jobId, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal(confirmed.transactionId, open!.id);
        const fillers = await db
          .select()
          .from(relayTransactions)
          .where(and(eq(relayTransactions.to, platform()), eq(relayTransactions.data, "0x")));
        assert.deepEqual(fillers.map((row) => row.nonce).sort(), [n, n + 1]);
        assert.ok(fillers.every((row) => row.status === "CONFIRMED"));
        assert.equal(await publicClient().getTransactionCount({ address: platform() }), n + 3);
        assert.equal(await pointsBalance(chain, tenant, holeRecipient), 77n);
      } finally {
        await relayer.stop();
      }
    });

    it("never replaces a stuck transaction above RELAYER_MAX_FEE_PER_GAS_WEI: the lane waits on it, says why once, and it confirms once the ceiling allows", async () => {
      const { db } = api.services;
      const chainNode = node(chain);
      const reference = newReference();
      const to = newRecipient();
      const ceiling = 5_000_000_000n;
      // Cheap blocks first, so that the first transaction goes out under the ceiling.
      await chainNode.setNextBaseFee(1_000_000_000n);
      await chainNode.mine();
      await chainNode.setAutomine(false);
      const log = recordingLogger();
      let relayer = testRelayer(api, { replaceAfterMs: 1000, maxFeePerGas: ceiling, logger: log.logger });
      try {
        const id = await issue(reference, to);
        const submitted = await waitForJob(db, id, ["SUBMITTED"]);
        const first = await transactionRow(db, submitted.transactionId!);
        assert.ok(BigInt(first.maxFeePerGas) < ceiling);
        // The next blocks cost 20 times the ceiling: only a replacement far above it would be mined.
        await chainNode.setNextBaseFee(100_000_000_000n);
        await chainNode.mine();
        const held = await waitFor("the replacement to be held back", async () => {
          const row = await transactionRow(db, first.id);
          return row.error?.startsWith("not replaced") ? row : undefined;
        });
        // Fees only rise from one replacement to the next: the last one's are the highest sent.
        const offered = BigInt(held.maxFeePerGas);
        assert.ok(offered <= ceiling, `${offered} over the ceiling`);
        assert.ok((offered * 11n) / 10n + 1n > ceiling, "held back while a 10% bump still fitted");
        assert.ok(held.hashes.length >= 2, "replaced up to the ceiling first");
        const pooled = await publicClient().getTransaction({ hash: held.hashes.at(-1) as Hash });
        assert.equal(pooled.maxFeePerGas, offered);
        assert.equal(pooled.nonce, first.nonce);
        // Several replacement periods later: the same transaction, still waited on, and said once.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const later = await transactionRow(db, first.id);
        assert.deepEqual(later.hashes, held.hashes);
        assert.equal(later.status, "SUBMITTED");
        assert.equal((await jobRow(db, id)).status, "SUBMITTED");
        assert.equal(log.said(/not replaced/), 1);

        // A higher ceiling (the relayer restarted with it) lets the replacement go; mined, the job confirms once.
        await relayer.stop();
        relayer = testRelayer(api, { replaceAfterMs: 200, maxFeePerGas: 1_000_000_000_000n });
        const replaced = await waitFor("a replacement above the old ceiling", async () => {
          const row = await transactionRow(db, first.id);
          return row.hashes.length > held.hashes.length ? row : undefined;
        });
        assert.ok(BigInt(replaced.maxFeePerGas) > ceiling);
        assert.equal(replaced.error, null);
        await chainNode.mine();
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal(confirmed.attempts, 1);
        const row = await transactionRow(db, first.id);
        assert.equal(row.status, "CONFIRMED");
        assert.ok(replaced.hashes.includes(row.minedHash!));
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
      } finally {
        await chainNode.setAutomine(true);
        await relayer.stop();
      }
    });

    it("sends nothing while the chain's base fee is above RELAYER_MAX_FEE_PER_GAS_WEI, and sends once it falls", async () => {
      const { db } = api.services;
      const chainNode = node(chain);
      const reference = newReference();
      const to = newRecipient();
      const ceiling = 10_000_000_000n;
      await chainNode.setNextBaseFee(100_000_000_000n);
      await chainNode.mine();
      const nonce = await publicClient().getTransactionCount({ address: platform(), blockTag: "pending" });
      const sentBefore = (await db.select().from(relayTransactions)).length;
      const log = recordingLogger();
      const relayer = testRelayer(api, { maxFeePerGas: ceiling, logger: log.logger });
      try {
        const id = await issue(reference, to);
        const waiting = await waitFor("the job to wait for fees", async () => {
          const job = await jobRow(db, id);
          return job.error?.startsWith("waiting") ? job : undefined;
        });
        assert.equal(waiting.status, "PENDING");
        assert.equal(waiting.transactionId, null);
        assert.match(waiting.error!, /base fee \(\d+ wei\) is above RELAYER_MAX_FEE_PER_GAS_WEI \(10000000000 wei\)/);
        // Many rounds later: still nothing signed, nothing sent, and the warning given once.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal((await jobRow(db, id)).status, "PENDING");
        assert.equal((await db.select().from(relayTransactions)).length, sentBefore);
        assert.equal(await publicClient().getTransactionCount({ address: platform(), blockTag: "pending" }), nonce);
        assert.equal(log.said(/base fee .* is above RELAYER_MAX_FEE_PER_GAS_WEI/), 1);

        await chainNode.setNextBaseFee(1_000_000_000n);
        await chainNode.mine();
        const confirmed = await waitForJob(db, id, ["CONFIRMED", "FAILED"]);
        assert.equal(confirmed.status, "CONFIRMED");
        assert.equal(confirmed.error, null);
        assert.equal(confirmed.attempts, 1);
        const sent = await transactionRow(db, confirmed.transactionId!);
        assert.equal(sent.nonce, nonce);
        assert.ok(BigInt(sent.maxFeePerGas) <= ceiling);
        assert.equal(log.said(/within RELAYER_MAX_FEE_PER_GAS_WEI again/), 1);
        assert.equal(await pointsBalance(chain, tenant, to), 77n);
        assert.equal((await issuedEvents(chain, tenant, reference)).length, 1);
      } finally {
        await relayer.stop();
      }
    });
  });
}
