// The `forward` job kind when the forwarder refuses a request of its batch (executeBatch with a refund
// receiver skips it rather than reverting), driven by hand as the relayer drives it against a real
// chain: the request waits for an earlier nonce of its signer still queued, fails because its
// deadline passed or its nonce was skipped (and frees the nonce), or settles from the transaction that
// used its nonce, when that transaction executed this very request.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { encodeAbiParameters, getAbiItem, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { erc2771ForwarderAbi } from "../../../../abi/erc2771Forwarder.ts";
import {
  clientsOf,
  createOffer,
  holdings,
  issueClass,
  issuePoints,
  requestOf,
  REWARD_ID,
  signWith,
} from "../../../test/forwardRelay.ts";
import {
  createTestTenant,
  insertUser,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { availableJobs, finish, runJobs, send } from "../../../test/relay-by-hand.ts";
import { jobRow, node } from "../../../test/relay.ts";
import { platformEvents } from "../../db/relaySchema.ts";
import { forwardNonces, redemptions, transactionRequests } from "../../db/redemptionsSchema.ts";
import { FORWARD_REQUEST_TTL_SECONDS, forwarderOf } from "../forwardRequests.ts";
import type { Job } from "../jobs.ts";
import { forwardKind, forwarderRequestOf, type ForwardPayload } from "./forward.ts";

const PRICE = 100n;
const DEADLINE_PASSED = "The request's deadline passed before it was relayed.";
const NONCE_REFUSED = "The forwarder refused the request (its nonce was used or skipped).";
const CALL_REVERTED = "The forwarded call reverted on chain.";
const DISPLACED =
  "Another request of its signer ran for its nonce (its call re-entered the forwarder): this one did not run.";
/** The Hardhat artifacts, for test contracts that have no ABI module. */
const ARTIFACTS = join(import.meta.dirname, "..", "..", "..", "..", "artifacts", "contracts");

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`forward jobs the forwarder refuses, on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
    });
    after(() => api.close());

    const redeem = async (token: string, offerId: bigint, quantity = 1) => {
      const response = await api.request("POST", "/redemptions/redeems", {
        token,
        body: { offerId: Number(offerId), quantity },
      });
      assert.equal(response.status, 202, response.text);
      return response.body;
    };
    const burn = async (token: string, amount: string) => {
      const response = await api.request("POST", "/transactions", { token, body: { type: "BURN", amount } });
      assert.equal(response.status, 202, response.text);
      return response.body;
    };
    /** A record as its holder reads it. */
    const readRedemption = async (token: string, id: string) =>
      (await api.request("GET", `/redemptions/redeems/${id}`, { token })).body;
    const readTransaction = async (token: string, id: string) =>
      (await api.request("GET", `/transactions/${id}`, { token })).body;
    /** The rows, for what the API does not show: the nonce and the job. */
    const redemptionRow = async (id: string) =>
      (await api.services.db.select().from(redemptions).where(eq(redemptions.id, id)))[0]!;
    const transactionRow = async (id: string) =>
      (await api.services.db.select().from(transactionRequests).where(eq(transactionRequests.id, id)))[0]!;
    /** The platform events (what webhooks deliver) about one record, in order. */
    const eventsAbout = async (id: string) =>
      (
        await api.services.db
          .select()
          .from(platformEvents)
          .where(eq(platformEvents.tenantId, a.id))
          .orderBy(asc(platformEvents.createdAt))
      )
        .filter((event) => event.data.redemptionId === id || event.data.transactionId === id)
        .map((event) => ({ type: event.type, data: event.data }));
    /** The forwarder nonces reserved for the holder's queued requests. */
    const reserved = async (holder: Address) =>
      (
        await api.services.db
          .select({ nonce: forwardNonces.nonce })
          .from(forwardNonces)
          .where(eq(forwardNonces.signer, holder.toLowerCase()))
          .orderBy(asc(forwardNonces.nonce))
      ).map((row) => row.nonce);
    const jobOf = async (id: string) => {
      const [job] = await availableJobs(api.services.db, forwardKind, [id]);
      assert.ok(job, `job ${id} is pending`);
      return job as Job<ForwardPayload>;
    };
    /** Sends these jobs alone in one transaction, then settles them from its receipt. */
    const relayAlone = async (jobs: Job<ForwardPayload>[]) => {
      const outcome = await send(api, chain, forwardKind, jobs);
      assert.equal(outcome.receipt?.status, "success", outcome.error);
      await finish(api, forwardKind, jobs, outcome);
      return outcome.receipt!.transactionHash;
    };
    /** A custodial holder (the API keeps their key and signs for them) with `points` points. */
    const custodialHolder = async (points: bigint) => {
      const { user, token } = await insertUser(api, a.id);
      const holder = user.walletAddress as Address;
      await issuePoints(chain, a.tenant, holder, points);
      return { user, token, holder };
    };

    it("holds a request whose earlier nonce is still queued elsewhere, then carries both in nonce order", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const { token, holder } = await custodialHolder(250n);
      const redemption = await redeem(token, offerId);
      const burned = await burn(token, "50");
      const [first, second] = [await redemptionRow(redemption.id), await transactionRow(burned.id)];
      assert.equal(second.nonce, first.nonce! + 1);

      // The burn goes out first, in a transaction of its own (the redemption in another, not mined yet).
      const hash = await relayAlone([await jobOf(second.jobId!)]);
      const held = await transactionRow(burned.id);
      assert.equal(held.status, "PENDING");
      assert.equal(held.transactionHash, null);
      assert.equal(held.error, null);
      assert.notEqual(held.jobId, second.jobId, "queued again in a job of its own");
      assert.equal((await jobRow(api.services.db, second.jobId!)).status, "CONFIRMED");
      const again = await jobRow(api.services.db, held.jobId!);
      assert.equal(again.status, "PENDING");
      assert.deepEqual(again.payload, (await jobRow(api.services.db, second.jobId!)).payload);
      assert.equal((await readTransaction(token, burned.id)).status, "PENDING");
      assert.deepEqual(await reserved(holder), [first.nonce, second.nonce], "both nonces stay taken");
      assert.deepEqual(await eventsAbout(burned.id), []);
      assert.deepEqual(await holdings(chain, a.tenant, holder), { points: 250n, rewards: 0n });

      const sent = await runJobs(api, chain, forwardKind, [first.jobId!, held.jobId!]);
      assert.equal(sent.length, 1, "one transaction, in nonce order");
      assert.notEqual(sent[0]!.hash, hash);
      const [redeemed, done] = [await readRedemption(token, redemption.id), await readTransaction(token, burned.id)];
      assert.deepEqual([redeemed.status, redeemed.transactionHash], ["COMPLETED", sent[0]!.hash]);
      assert.ok(Number(redeemed.onchainRedemptionId) >= 1);
      assert.deepEqual([done.status, done.transactionHash, done.error], ["COMPLETED", sent[0]!.hash, null]);
      assert.deepEqual(await holdings(chain, a.tenant, holder), { points: 100n, rewards: 1n });
      assert.deepEqual(
        (await eventsAbout(redemption.id)).map((event) => event.type),
        ["redemption.completed"],
      );
      assert.deepEqual(await eventsAbout(burned.id), [
        {
          type: "transaction.confirmed",
          data: {
            transactionId: burned.id,
            type: "BURN",
            token: a.tenant.contracts.pointsToken,
            tokenId: "0",
            from: holder,
            to: null,
            amount: "50",
            transactionHash: sent[0]!.hash,
          },
        },
      ]);
    });

    it("fails requests relayed after their deadline, even with an earlier nonce queued, and frees their nonces", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const { token, holder } = await custodialHolder(250n);
      const redemption = await redeem(token, offerId);
      const burned = await burn(token, "50");
      const [first, second] = [await redemptionRow(redemption.id), await transactionRow(burned.id)];
      const chainNode = node(chain);
      const snapshot = await chainNode.snapshot();
      try {
        // The relayer comes back after the requests' time is up.
        await chainNode.call("evm_increaseTime", [FORWARD_REQUEST_TTL_SECONDS + 60]);
        // The burn alone first: its earlier nonce is still queued, but waiting would be in vain.
        const burnHash = await relayAlone([await jobOf(second.jobId!)]);
        const expired = await readTransaction(token, burned.id);
        assert.deepEqual(
          [expired.status, expired.transactionHash, expired.error],
          ["FAILED", burnHash, DEADLINE_PASSED],
        );
        assert.equal((await transactionRow(burned.id)).jobId, second.jobId, "not queued again");
        assert.equal((await jobRow(api.services.db, second.jobId!)).status, "CONFIRMED");
        assert.deepEqual(await reserved(holder), [first.nonce]);

        const sent = await runJobs(api, chain, forwardKind, [first.jobId!]);
        assert.equal(sent.length, 1);
        const failed = await readRedemption(token, redemption.id);
        assert.deepEqual(
          [failed.status, failed.transactionHash, failed.error, failed.onchainRedemptionId],
          ["FAILED", sent[0]!.hash, DEADLINE_PASSED, null],
        );
        assert.equal((await jobRow(api.services.db, first.jobId!)).status, "CONFIRMED");
        assert.deepEqual(await reserved(holder), []);
        assert.deepEqual(await holdings(chain, a.tenant, holder), { points: 250n, rewards: 0n });
        assert.deepEqual(await eventsAbout(redemption.id), [
          {
            type: "redemption.failed",
            data: {
              redemptionId: redemption.id,
              userId: redemption.userId,
              holder,
              offerId: String(offerId),
              quantity: 1,
              onchainRedemptionId: null,
              transactionHash: sent[0]!.hash,
              error: DEADLINE_PASSED,
            },
          },
        ]);
        // A failed transfer or burn has no event.
        assert.deepEqual(await eventsAbout(burned.id), []);
      } finally {
        // The chain's clock back with the wall's, for the requests made from now on.
        await chainNode.revert(snapshot);
      }

      // The holder's next request takes the freed nonce, and goes through.
      const next = await redeem(token, offerId);
      assert.equal((await redemptionRow(next.id)).nonce, first.nonce);
      await runJobs(api, chain, forwardKind, [(await redemptionRow(next.id)).jobId!]);
      assert.equal((await readRedemption(token, next.id)).status, "COMPLETED");
      assert.deepEqual(await holdings(chain, a.tenant, holder), { points: 150n, rewards: 1n });
    });

    it("fails a request whose earlier nonce will never be used, frees its nonce, and the next request takes it", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const { token, holder } = await custodialHolder(250n);
      const redemption = await redeem(token, offerId);
      const burned = await burn(token, "50");
      const [first, second] = [await redemptionRow(redemption.id), await transactionRow(burned.id)];

      // The redemption's transaction runs out of gas: nothing of it was executed, it fails, its nonce is free.
      const job = await jobOf(first.jobId!);
      const starved: typeof forwardKind = {
        ...forwardKind,
        encode: async (jobs, context) => ({ ...(await forwardKind.encode(jobs, context)), gas: 100_000n }),
      };
      const outcome = await send(api, chain, starved, [job]);
      assert.match(outcome.error ?? "", /reverted/);
      await finish(api, forwardKind, [job], outcome);
      const failed = await readRedemption(token, redemption.id);
      assert.deepEqual([failed.status, failed.transactionHash], ["FAILED", null]);
      assert.equal((await jobRow(api.services.db, first.jobId!)).status, "FAILED");
      assert.deepEqual(await reserved(holder), [second.nonce]);

      // The burn comes after a nonce nobody will use: the forwarder refuses it, and it fails.
      const hash = await relayAlone([await jobOf(second.jobId!)]);
      const skipped = await readTransaction(token, burned.id);
      assert.deepEqual([skipped.status, skipped.transactionHash, skipped.error], ["FAILED", hash, NONCE_REFUSED]);
      assert.equal((await transactionRow(burned.id)).jobId, second.jobId, "not queued again");
      assert.equal((await jobRow(api.services.db, second.jobId!)).status, "CONFIRMED");
      assert.deepEqual(await reserved(holder), []);
      assert.deepEqual(await eventsAbout(burned.id), []);
      assert.deepEqual(
        (await eventsAbout(redemption.id)).map((event) => event.type),
        ["redemption.failed"],
      );

      // The holder's next request takes the first free nonce, and goes through.
      const next = await burn(token, "30");
      const row = await transactionRow(next.id);
      assert.equal(row.nonce, first.nonce);
      await runJobs(api, chain, forwardKind, [row.jobId!]);
      assert.equal((await readTransaction(token, next.id)).status, "COMPLETED");
      assert.deepEqual(await holdings(chain, a.tenant, holder), { points: 220n, rewards: 0n });
    });

    it("settles requests someone else executed in a batch of their own: completed, or failed where the call reverted", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 1n });
      const x = await custodialHolder(150n);
      const y = await custodialHolder(150n);
      const [first, burned, second] = [
        await redeem(x.token, offerId),
        await burn(x.token, "50"),
        await redeem(y.token, offerId),
      ];
      const jobs = [
        await jobOf((await redemptionRow(first.id)).jobId!),
        await jobOf((await transactionRow(burned.id)).jobId!),
        await jobOf((await redemptionRow(second.id)).jobId!),
      ];
      // Someone sends the signed requests to the forwarder before the relayer: x's redemption takes
      // the offer's only unit and x's burn (the next nonce of x) follows; y's call reverts (its nonce
      // spent all the same).
      const { publicClient, walletClient } = clientsOf(chain);
      const elsewhere = await walletClient.writeContract({
        address: jobs[0]!.payload.forwarder,
        abi: erc2771ForwarderAbi,
        functionName: "executeBatch",
        args: [jobs.map((job) => forwarderRequestOf(job.payload)), walletClient.account.address],
      } as never);
      assert.equal((await publicClient.waitForTransactionReceipt({ hash: elsewhere })).status, "success");

      const sent = await runJobs(
        api,
        chain,
        forwardKind,
        jobs.map((job) => job.id),
      );
      assert.equal(sent.length, 1);
      assert.notEqual(sent[0]!.hash, elsewhere);
      assert.deepEqual(await Promise.all(jobs.map(async (job) => (await jobRow(api.services.db, job.id)).status)), [
        "CONFIRMED",
        "CONFIRMED",
        "CONFIRMED",
      ]);
      const completed = await readRedemption(x.token, first.id);
      assert.deepEqual([completed.status, completed.transactionHash], ["COMPLETED", elsewhere]);
      assert.ok(Number(completed.onchainRedemptionId) >= 1);
      const done = await readTransaction(x.token, burned.id);
      assert.deepEqual([done.status, done.transactionHash], ["COMPLETED", elsewhere]);
      const reverted = await readRedemption(y.token, second.id);
      assert.deepEqual(
        [reverted.status, reverted.transactionHash, reverted.error, reverted.onchainRedemptionId],
        ["FAILED", elsewhere, CALL_REVERTED, null],
      );
      assert.deepEqual(await holdings(chain, a.tenant, x.holder), { points: 0n, rewards: 1n });
      assert.deepEqual(await holdings(chain, a.tenant, y.holder), { points: 150n, rewards: 0n });
      const events = async (id: string) =>
        (await eventsAbout(id)).map((event) => [
          event.type,
          event.data.transactionHash,
          event.data.onchainRedemptionId ?? event.data.error ?? event.data.amount,
        ]);
      assert.deepEqual(await events(first.id), [["redemption.completed", elsewhere, completed.onchainRedemptionId]]);
      assert.deepEqual(await events(burned.id), [["transaction.confirmed", elsewhere, "50"]]);
      assert.deepEqual(await events(second.id), [["redemption.failed", elsewhere, CALL_REVERTED]]);
    });

    /**
     * Two redemptions made before either is signed carry the same nonce: the holder signs the large
     * one (5) through the API, and sends a batch to the forwarder themself before the relayer, with a
     * copy of the large one and the small one (1) signed for that nonce, ours first or second. The
     * forwarder executes the first and skips the other, whose nonce is then used.
     */
    async function sameNonceBatch(ours: "first" | "second" | "first, malleated", blocksBetween = 0) {
      const offerId = await createOffer(chain, a.tenant, { price: 10n, supply: 10n });
      const wallet = privateKeyToAccount(generatePrivateKey());
      const { token } = await insertUser(api, a.id, { walletAddress: wallet.address });
      await issuePoints(chain, a.tenant, wallet.address, 100n);
      const small = await redeem(token, offerId, 1);
      const large = await redeem(token, offerId, 5);
      assert.equal(small.typedData.message.nonce, large.typedData.message.nonce);
      const signed = await api.request("POST", `/redemptions/redeems/${large.id}/signature`, {
        token,
        body: { signature: await signWith(wallet, large.typedData) },
      });
      assert.equal(signed.status, 202, signed.text);
      const job = await jobOf((await redemptionRow(large.id)).jobId!);
      const { nonce: _, ...request } = requestOf(small.typedData);
      const theirs = { ...request, signature: await signWith(wallet, small.typedData) };
      // A copy whose signature has v 0 or 1 (27 or 28 less): the same signature to viem, refused by the forwarder.
      const oursAs = (form: typeof ours) => {
        const request = forwarderRequestOf(job.payload);
        if (form !== "first, malleated") return request;
        const v = Number.parseInt(request.signature.slice(130), 16) - 27;
        return { ...request, signature: `${request.signature.slice(0, 130)}0${v}` as Hex };
      };
      const { publicClient, walletClient } = clientsOf(chain);
      const elsewhere = await walletClient.writeContract({
        address: job.payload.forwarder,
        abi: erc2771ForwarderAbi,
        functionName: "executeBatch",
        args: [
          ours === "second" ? [theirs, forwarderRequestOf(job.payload)] : [oursAs(ours), theirs],
          walletClient.account.address,
        ],
      } as never);
      assert.equal((await publicClient.waitForTransactionReceipt({ hash: elsewhere })).status, "success");
      if (blocksBetween > 0)
        await publicClient.request({ method: "hardhat_mine", params: [toHex(blocksBetween), "0x0"] } as never);
      const holdingsBefore = await holdings(chain, a.tenant, wallet.address);
      const sent = await runJobs(api, chain, forwardKind, [job.id]);
      assert.equal(sent.length, 1);
      assert.notEqual(sent[0]!.hash, elsewhere);
      // The relayer's copy ran nothing more.
      assert.deepEqual(await holdings(chain, a.tenant, wallet.address), holdingsBefore);
      return {
        elsewhere,
        sent: sent[0]!.hash,
        redemption: await readRedemption(token, large.id),
        events: (await eventsAbout(large.id)).map((event) => [
          event.type,
          event.data.quantity,
          event.data.transactionHash,
          event.data.onchainRedemptionId ?? null,
        ]),
        holdings: holdingsBefore,
      };
    }

    it("settles a request from a batch that carried it before another request of its signer for the same nonce", async () => {
      const { elsewhere, redemption, events, holdings } = await sameNonceBatch("first");
      assert.deepEqual(holdings, { points: 50n, rewards: 5n });
      assert.deepEqual(
        [redemption.status, redemption.transactionHash, redemption.error],
        ["COMPLETED", elsewhere, null],
      );
      assert.ok(Number(redemption.onchainRedemptionId) >= 1);
      assert.deepEqual(events, [["redemption.completed", 5, elsewhere, redemption.onchainRedemptionId]]);
    });

    it("settles a request from a batch that carried it thousands of blocks before the relayer's copy", async () => {
      const { elsewhere, redemption, events } = await sameNonceBatch("first", 2_500);
      assert.deepEqual([redemption.status, redemption.transactionHash], ["COMPLETED", elsewhere]);
      assert.deepEqual(events, [["redemption.completed", 5, elsewhere, redemption.onchainRedemptionId]]);
    });

    it("fails a request whose nonce another request of its signer used, rather than settle it from that one", async () => {
      const { sent, redemption, events, holdings } = await sameNonceBatch("second");
      assert.deepEqual(holdings, { points: 90n, rewards: 1n });
      assert.deepEqual(
        [redemption.status, redemption.transactionHash, redemption.error, redemption.onchainRedemptionId],
        ["FAILED", sent, NONCE_REFUSED, null],
      );
      assert.deepEqual(events, [["redemption.failed", 5, sent, null]]);
    });

    it("fails a request whose copy the forwarder refused for its signature's form (v 0 or 1), before another request of its signer for the same nonce", async () => {
      const { sent, redemption, events, holdings } = await sameNonceBatch("first, malleated");
      assert.deepEqual(holdings, { points: 90n, rewards: 1n });
      assert.deepEqual(
        [redemption.status, redemption.transactionHash, redemption.error, redemption.onchainRedemptionId],
        ["FAILED", sent, NONCE_REFUSED, null],
      );
      assert.deepEqual(events, [["redemption.failed", 5, sent, null]]);
    });

    it("fails a request whose nonce a re-entered forwarder used for another request of its signer, not completes it", async () => {
      // A self-custody holder sends a reward to a contract of theirs that, on receiving it, has the
      // forwarder execute a 1-unit redemption they signed for the nonce of their queued 5-unit one.
      const offerId = await createOffer(chain, a.tenant, { price: 10n, supply: 10n });
      const wallet = privateKeyToAccount(generatePrivateKey());
      const { token } = await insertUser(api, a.id, { walletAddress: wallet.address });
      await issuePoints(chain, a.tenant, wallet.address, 100n);
      await issueClass(chain, a.tenant, "rewardToken", wallet.address, REWARD_ID, 1n);
      const { publicClient, walletClient } = clientsOf(chain);
      const artifact = JSON.parse(
        readFileSync(join(ARTIFACTS, "test/ForwarderReenterer.sol/ForwarderReenterer.json"), "utf8"),
      );
      const forwarder = forwarderOf(clientsOf(chain));
      const deployed = await publicClient.waitForTransactionReceipt({
        hash: await walletClient.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: [forwarder] }),
      });
      const receiver = deployed.contractAddress!;

      const transfer = await api.request("POST", "/transactions", {
        token,
        body: {
          type: "TRANSFER",
          token: a.tenant.contracts.rewardToken,
          tokenId: String(REWARD_ID),
          amount: "1",
          to: receiver,
        },
      });
      assert.equal(transfer.body.status, "AWAITING_SIGNATURE", transfer.text);
      // Gas enough for the redemption run inside it (the API sized it without the receiver armed).
      const gas = "600000";
      await api.services.db
        .update(transactionRequests)
        .set({ gas })
        .where(eq(transactionRequests.id, transfer.body.id));
      const transferTyped = { ...transfer.body.typedData, message: { ...transfer.body.typedData.message, gas } };
      const signedTransfer = await api.request("POST", `/transactions/${transfer.body.id}/signature`, {
        token,
        body: { signature: await signWith(wallet, transferTyped) },
      });
      assert.equal(signedTransfer.status, 202, signedTransfer.text);
      const large = await redeem(token, offerId, 5);
      const signedLarge = await api.request("POST", `/redemptions/redeems/${large.id}/signature`, {
        token,
        body: { signature: await signWith(wallet, large.typedData) },
      });
      assert.equal(signedLarge.status, 202, signedLarge.text);
      const small = await redeem(token, offerId, 1);
      const nonce = large.typedData.message.nonce;
      const theirs = { ...small.typedData, message: { ...small.typedData.message, nonce } };
      const request = { ...requestOf(theirs), signature: await signWith(wallet, theirs) };
      const { nonce: _, ...forwarded } = request;
      // Encoded as the forwarder's `execute` takes it (ForwardRequestData).
      const executeAbi = getAbiItem({ abi: erc2771ForwarderAbi, name: "execute" });
      const encoded = encodeAbiParameters(executeAbi.inputs, [forwarded]);
      await publicClient.waitForTransactionReceipt({
        hash: await walletClient.writeContract({
          address: receiver,
          abi: artifact.abi,
          functionName: "arm",
          args: [encoded],
        } as never),
      });

      const jobs = [
        await jobOf((await transactionRow(transfer.body.id)).jobId!),
        await jobOf((await redemptionRow(large.id)).jobId!),
      ];
      const sent = await runJobs(
        api,
        chain,
        forwardKind,
        jobs.map((job) => job.id),
      );
      assert.equal(sent.length, 1);
      // The transfer ran, and the 1-unit redemption inside it; the 5-unit one was skipped.
      assert.deepEqual(await holdings(chain, a.tenant, wallet.address), { points: 90n, rewards: 1n });
      assert.equal((await readTransaction(token, transfer.body.id)).status, "COMPLETED");
      const redemption = await readRedemption(token, large.id);
      assert.deepEqual(
        [redemption.status, redemption.transactionHash, redemption.error, redemption.onchainRedemptionId],
        ["FAILED", sent[0]!.hash, DISPLACED, null],
      );
      assert.deepEqual(
        (await eventsAbout(large.id)).map((event) => event.type),
        ["redemption.failed"],
      );
    });
  });
}
