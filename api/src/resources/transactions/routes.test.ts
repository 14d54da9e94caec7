import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeFunctionData, encodeFunctionData, zeroAddress, type Address, type Hash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { rpcUrlVariableFor } from "../../../../deploy/deployment-file.ts";
import { waitForIndexedBlock } from "../../../../indexer/status.ts";
import { startIndexer, type IndexerProcess } from "../../../../scripts/indexer-process.ts";
import { freePort } from "../../../../test/helpers/ports.ts";
import { assertInvalid } from "../../../test/callers.ts";
import {
  clientsOf,
  classBalance,
  holdings,
  defineClass,
  issueClass,
  issuePoints,
  relayForwardJobs,
  REWARD_ID,
  signWith,
} from "../../../test/forwardRelay.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  startTestApi,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { runJobs } from "../../../test/relay-by-hand.ts";
import { eq, inArray } from "drizzle-orm";
import { transactionRequests } from "../../db/redemptionsSchema.ts";
import { platformEvents, relayJobs } from "../../db/relaySchema.ts";
import { issueKind } from "../../relay/kinds/issue.ts";

const STATUS_ID = 7n;

/** The fields of an indexed movement that tell it apart. */
type IndexedRow = {
  transactionHash: string;
  type: string;
  token: string;
  tokenId: string;
  from: string;
  to: string;
  amount: string;
};

let chain: TestChain;
let indexer: IndexerProcess;
let indexerOutput = "";
before(async () => {
  chain = await startTestChain();
  // One indexer (on its own embedded PGlite) follows the chain for every database the API runs on:
  // each suite reads only tenants of its own.
  indexer = await startIndexer({
    port: await freePort(),
    schema: `tx_${process.pid}`,
    pgliteDir: join(chain.deploymentsDir, "pglite"),
    env: {
      [rpcUrlVariableFor(clientsOf(chain).chainId)]: chain.rpcUrl,
      PERS_DEPLOYMENTS_DIR: chain.deploymentsDir,
      DATABASE_URL: undefined,
    },
    onOutput: (text) => (indexerOutput = (indexerOutput + text).slice(-5000)),
  });
});
after(async () => {
  await indexer?.stop();
  await chain?.close();
});

for (const database of testDatabases()) {
  describe(`/transactions and /balances on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let a: TestTenant;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      api = await startTestApi({ database: opened.parameters, chain, environment: { INDEXER_URL: indexer.url } });
      a = await createTestTenant(api);
    });
    after(async () => {
      await api.close();
      await drop();
    });

    const post = (token: string, body: Record<string, unknown>) =>
      api.request("POST", "/transactions", { token, body });
    const read = (token: string, id: string) => api.request("GET", `/transactions/${id}`, { token });

    it("transfers and burns a custodial user's points through the forwarder; unconfirmed requests are pending", async () => {
      const sender = await insertUser(api, a.id, { email: "sender@tx.test" });
      const receiver = await insertUser(api, a.id, { email: "receiver@tx.test" });
      await issuePoints(chain, a.tenant, sender.user.walletAddress as Address, 100n);
      const transfer = await post(sender.token, { type: "TRANSFER", toUserId: receiver.user.id, amount: "30" });
      assert.equal(transfer.status, 202, transfer.text);
      assert.equal(transfer.body.status, "PENDING");
      assert.equal(transfer.body.to, receiver.user.walletAddress);
      const burn = await post(sender.token, { type: "BURN", amount: "20" });
      assert.equal(burn.status, 202, burn.text);
      const tooMuch = await post(sender.token, { type: "BURN", amount: "1000" });
      assert.equal(tooMuch.status, 422);
      assert.match(tooMuch.body.detail, /ERC20InsufficientBalance/);
      const toSelf = await post(sender.token, { type: "TRANSFER", to: sender.user.walletAddress, amount: "1" });
      assert.equal(toSelf.status, 422, toSelf.text);
      assert.match(toSelf.body.detail, /own sender/);

      await relayForwardJobs(api, chain);
      for (const id of [transfer.body.id, burn.body.id]) {
        const found = await read(sender.token, id);
        assert.equal(found.body.status, "COMPLETED", found.text);
      }
      assert.equal((await read(receiver.token, transfer.body.id)).status, 404);
      assert.deepEqual(await holdings(chain, a.tenant, sender.user.walletAddress as Address), {
        points: 50n,
        rewards: 0n,
      });
      assert.deepEqual(await holdings(chain, a.tenant, receiver.user.walletAddress as Address), {
        points: 30n,
        rewards: 0n,
      });
    });

    it("gives a self-custody user the typed data of their TRANSFER and BURN to sign; a wrong, foreign or replayed signature moves nothing", async () => {
      const wallet = privateKeyToAccount(generatePrivateKey());
      const { token } = await insertUser(api, a.id, { walletAddress: wallet.address });
      const receiver = await insertUser(api, a.id, { email: "self-custody-receiver@tx.test" });
      const receiverAddress = receiver.user.walletAddress as Address;
      await issuePoints(chain, a.tenant, wallet.address, 100n);
      const sign = (id: string, signature: unknown, caller = token) =>
        api.request("POST", `/transactions/${id}/signature`, { token: caller, body: { signature } });
      const pointsOf = async (holder: Address) => (await holdings(chain, a.tenant, holder)).points;

      const transfer = await post(token, { type: "TRANSFER", toUserId: receiver.user.id, amount: "40" });
      assert.equal(transfer.status, 202, transfer.text);
      assert.equal(transfer.body.status, "AWAITING_SIGNATURE");
      const typedData = transfer.body.typedData;
      assert.equal(typedData.primaryType, "ForwardRequest");
      assert.equal(typedData.domain.chainId, clientsOf(chain).chainId);
      assert.equal(typedData.domain.verifyingContract, clientsOf(chain).deployment.contracts.forwarder);
      assert.equal(typedData.message.from, wallet.address);
      assert.equal(typedData.message.to, a.tenant.contracts.pointsToken);
      assert.deepEqual(decodeFunctionData({ abi: pointsTokenAbi, data: typedData.message.data }), {
        functionName: "transfer",
        args: [receiverAddress, 40n],
      });
      // Nothing is queued before the holder signs.
      assert.equal((await relayForwardJobs(api, chain)).jobs, 0);

      const altered = await signWith(wallet, {
        ...typedData,
        message: {
          ...typedData.message,
          data: encodeFunctionData({ abi: pointsTokenAbi, functionName: "transfer", args: [receiverAddress, 100n] }),
        },
      });
      const foreign = await signWith(privateKeyToAccount(generatePrivateKey()), typedData);
      for (const signature of [altered, foreign]) {
        const refused = await sign(transfer.body.id, signature);
        assert.equal(refused.status, 422, refused.text);
        assert.ok(isProblem(refused));
      }
      assertInvalid(await sign(transfer.body.id, "0x1234"), ["body.signature"]);
      const signature = await signWith(wallet, typedData);
      // Only the holder signs their request: to anyone else it does not exist.
      assert.equal((await sign(transfer.body.id, signature, receiver.token)).status, 404);
      assert.equal((await read(token, transfer.body.id)).body.status, "AWAITING_SIGNATURE");

      const signed = await sign(transfer.body.id, signature);
      assert.equal(signed.status, 202, signed.text);
      assert.equal(signed.body.status, "PENDING");
      assert.equal(signed.body.typedData, null);
      const replayed = await sign(transfer.body.id, signature);
      assert.equal(replayed.status, 409, replayed.text);
      assert.ok(isProblem(replayed));

      assert.deepEqual(await relayForwardJobs(api, chain), { jobs: 1, transactions: 1 });
      const done = await read(token, transfer.body.id);
      assert.equal(done.body.status, "COMPLETED", done.text);
      assert.match(done.body.transactionHash, /^0x[0-9a-f]{64}$/);
      assert.equal(await pointsOf(wallet.address), 60n);
      assert.equal(await pointsOf(receiverAddress), 40n);
      assert.equal((await relayForwardJobs(api, chain)).jobs, 0);

      const burn = await post(token, { type: "BURN", amount: "25" });
      assert.equal(burn.status, 202, burn.text);
      assert.equal(burn.body.status, "AWAITING_SIGNATURE");
      assert.equal(BigInt(burn.body.typedData.message.nonce), BigInt(typedData.message.nonce) + 1n);
      assert.deepEqual(decodeFunctionData({ abi: pointsTokenAbi, data: burn.body.typedData.message.data }), {
        functionName: "burn",
        args: [25n],
      });
      // The transfer's signature, replayed on the burn.
      const reused = await sign(burn.body.id, signature);
      assert.equal(reused.status, 422, reused.text);
      assert.ok(isProblem(reused));
      const burnSigned = await sign(burn.body.id, await signWith(wallet, burn.body.typedData));
      assert.equal(burnSigned.status, 202, burnSigned.text);
      await relayForwardJobs(api, chain);
      assert.equal((await read(token, burn.body.id)).body.status, "COMPLETED");
      assert.equal(await pointsOf(wallet.address), 35n);

      // Two requests made before either is signed carry the same nonce: the first signed takes it,
      // the other is refused and never reaches the chain.
      const first = await post(token, { type: "BURN", amount: "1" });
      const second = await post(token, { type: "BURN", amount: "2" });
      assert.equal(first.body.typedData.message.nonce, second.body.typedData.message.nonce);
      assert.equal((await sign(second.body.id, await signWith(wallet, second.body.typedData))).status, 202);
      const late = await sign(first.body.id, await signWith(wallet, first.body.typedData));
      assert.equal(late.status, 409, late.text);
      assert.ok(isProblem(late));
      assert.deepEqual(await relayForwardJobs(api, chain), { jobs: 1, transactions: 1 });
      assert.equal((await read(token, first.body.id)).body.status, "FAILED");
      assert.equal((await read(token, second.body.id)).body.status, "COMPLETED");
      assert.equal(await pointsOf(wallet.address), 33n);
      assert.equal(await pointsOf(receiverAddress), 40n);
    });

    it("transfers and burns a custodial user's reward tokens by id through the forwarder; refuses status transfers up front", async () => {
      const holder = await insertUser(api, a.id, { email: "reward-holder@tx.test" });
      const receiver = await insertUser(api, a.id, { email: "reward-receiver@tx.test" });
      const [holderAddress, receiverAddress] = [holder.user.walletAddress, receiver.user.walletAddress] as [
        Address,
        Address,
      ];
      const { rewardToken, statusToken, pointsToken } = a.tenant.contracts;
      await issueClass(chain, a.tenant, "rewardToken", holderAddress, REWARD_ID, 5n);
      await issueClass(chain, a.tenant, "statusToken", holderAddress, STATUS_ID, 1n);
      await issuePoints(chain, a.tenant, holderAddress, 10n);

      const transfer = await post(holder.token, {
        type: "TRANSFER",
        token: rewardToken,
        tokenId: String(REWARD_ID),
        toUserId: receiver.user.id,
        amount: "2",
      });
      assert.equal(transfer.status, 202, transfer.text);
      assert.equal(transfer.body.status, "PENDING");
      assert.equal(transfer.body.token, rewardToken);
      assert.equal(transfer.body.tokenId, String(REWARD_ID));
      const burn = await post(holder.token, {
        type: "BURN",
        token: rewardToken,
        tokenId: String(REWARD_ID),
        amount: "1",
      });
      assert.equal(burn.status, 202, burn.text);
      const statusBurn = await post(holder.token, {
        type: "BURN",
        token: statusToken,
        tokenId: String(STATUS_ID),
        amount: "1",
      });
      assert.equal(statusBurn.status, 202, statusBurn.text);

      const refusals: [Record<string, unknown>, RegExp][] = [
        [
          { type: "TRANSFER", token: statusToken, tokenId: String(STATUS_ID), toUserId: receiver.user.id, amount: "1" },
          /Status tokens are soulbound/,
        ],
        [{ type: "BURN", token: rewardToken, tokenId: String(REWARD_ID), amount: "6" }, /ERC1155InsufficientBalance/],
        [
          { type: "TRANSFER", token: rewardToken, tokenId: String(REWARD_ID + 1n), to: receiverAddress, amount: "1" },
          /ERC1155InsufficientBalance/,
        ],
        [{ type: "TRANSFER", token: pointsToken, tokenId: "1", to: receiverAddress, amount: "1" }, /tokenId 0/],
        [{ type: "BURN", token: receiverAddress, amount: "1" }, /not a token of this tenant/],
      ];
      for (const [body, reason] of refusals) {
        const refused = await post(holder.token, body);
        assert.equal(refused.status, 422, `${JSON.stringify(body)}: ${refused.text}`);
        assert.ok(isProblem(refused));
        assert.match(refused.body.detail, reason);
      }

      // The three accepted requests, and nothing of the refused ones, in one batch.
      assert.deepEqual(await relayForwardJobs(api, chain), { jobs: 3, transactions: 1 });
      for (const id of [transfer.body.id, burn.body.id, statusBurn.body.id]) {
        const found = await read(holder.token, id);
        assert.equal(found.body.status, "COMPLETED", found.text);
      }
      assert.equal(await classBalance(chain, a.tenant, "rewardToken", holderAddress, REWARD_ID), 2n);
      assert.equal(await classBalance(chain, a.tenant, "rewardToken", receiverAddress, REWARD_ID), 2n);
      assert.equal(await classBalance(chain, a.tenant, "statusToken", holderAddress, STATUS_ID), 0n);
      assert.equal(await classBalance(chain, a.tenant, "statusToken", receiverAddress, STATUS_ID), 0n);
      assert.equal((await holdings(chain, a.tenant, holderAddress)).points, 10n);
    });

    it("grants points, reward and status classes by an admin's MINT, issued once by the relayer under the request's reference", async () => {
      const { user, token } = await insertUser(api, a.id, { email: "granted@tx.test" });
      const holder = user.walletAddress as Address;
      const { rewardToken, statusToken } = a.tenant.contracts;
      await defineClass(chain, a.tenant, "rewardToken", REWARD_ID);
      await defineClass(chain, a.tenant, "statusToken", STATUS_ID);
      const grants = [
        { type: "MINT", userId: user.id, amount: "500" },
        { type: "MINT", token: rewardToken, tokenId: String(REWARD_ID), to: holder, amount: "2" },
        { type: "MINT", token: statusToken, tokenId: String(STATUS_ID), userId: user.id, amount: "1" },
      ];
      const ids: string[] = [];
      for (const grant of grants) {
        const mint = await post(a.adminToken, grant);
        assert.equal(mint.status, 202, mint.text);
        assert.equal(mint.body.status, "PENDING");
        assert.equal(mint.body.to, holder);
        assert.equal(mint.body.token, grant.token ?? a.tenant.contracts.pointsToken);
        assert.equal(mint.body.tokenId, grant.tokenId ?? "0");
        assert.equal(mint.body.reference, `0x${"0".repeat(32)}${mint.body.id.replace(/-/g, "")}`);
        ids.push(mint.body.id);
      }

      const refusals: [Record<string, unknown>, RegExp][] = [
        [{ type: "MINT", token: rewardToken, tokenId: "999", to: holder, amount: "1" }, /TokenClassUndefined\(999\)/],
        [{ type: "MINT", tokenId: "1", to: holder, amount: "1" }, /tokenId 0/],
        [{ type: "MINT", token: holder, to: holder, amount: "1" }, /not a token of this tenant/],
      ];
      for (const [body, reason] of refusals) {
        const refused = await post(a.adminToken, body);
        assert.equal(refused.status, 422, `${JSON.stringify(body)}: ${refused.text}`);
        assert.ok(isProblem(refused));
        assert.match(refused.body.detail, reason);
      }
      assertInvalid(await post(a.adminToken, { type: "MINT", amount: "1" }), ["body.to"]);
      assert.equal((await post(token, { type: "MINT", userId: user.id, amount: "500" })).status, 403);
      const pendingOnly = await api.request("GET", "/transactions?status=PENDING&type=MINT", { token: a.adminToken });
      assert.equal(pendingOnly.status, 200, pendingOnly.text);
      assert.deepEqual(pendingOnly.body.pending.map((row: { id: string }) => row.id).sort(), [...ids].sort());

      // One issue per grant, each in its own transaction; running the queue again issues nothing.
      const issued = await runJobs(api, chain, issueKind);
      assert.equal(issued.length, 3);
      assert.deepEqual(await runJobs(api, chain, issueKind), []);
      for (const id of ids) {
        const done = await read(a.adminToken, id);
        assert.equal(done.body.status, "COMPLETED", done.text);
        assert.ok(
          issued.some((sent) => sent.hash === done.body.transactionHash && !sent.error),
          done.text,
        );
      }
      assert.equal((await holdings(chain, a.tenant, holder)).points, 500n);
      assert.equal(await classBalance(chain, a.tenant, "rewardToken", holder, REWARD_ID), 2n);
      assert.equal(await classBalance(chain, a.tenant, "statusToken", holder, STATUS_ID), 1n);

      // A MINT's row stays PENDING while its job is sent (shown PROCESSING): a hundred newer queued
      // grants must not hide it from a list of PROCESSING requests, nor crowd a list of PENDING ones.
      const sent = await post(a.adminToken, { type: "MINT", userId: user.id, amount: "1" });
      assert.equal(sent.status, 202, sent.text);
      const [sentRow] = await api.services.db
        .select()
        .from(transactionRequests)
        .where(eq(transactionRequests.id, sent.body.id));
      await api.services.db.update(relayJobs).set({ status: "SUBMITTED" }).where(eq(relayJobs.id, sentRow!.jobId!));
      const queuedIds: string[] = [];
      for (let index = 0; index < 100; index++) {
        const queued = await post(a.adminToken, { type: "MINT", userId: user.id, amount: "1" });
        assert.equal(queued.status, 202, queued.text);
        queuedIds.push(queued.body.id);
      }
      const pendingIds = async (path: string) => {
        const listed = await api.request("GET", path, { token: a.adminToken });
        assert.equal(listed.status, 200, listed.text);
        return listed.body.pending.map((row: { id: string; status: string }) => `${row.status} ${row.id}`);
      };
      assert.deepEqual(await pendingIds("/transactions?status=PROCESSING&type=MINT"), [`PROCESSING ${sent.body.id}`]);
      assert.deepEqual(
        (await pendingIds("/transactions?status=PENDING&type=MINT")).sort(),
        queuedIds.map((id) => `PENDING ${id}`).sort(),
      );
      // Out of the later tests' queue.
      const listedIds = [sent.body.id, ...queuedIds];
      const jobs = await api.services.db
        .update(transactionRequests)
        .set({ status: "FAILED", error: "test: not relayed" })
        .where(inArray(transactionRequests.id, listedIds))
        .returning({ jobId: transactionRequests.jobId });
      await api.services.db
        .update(relayJobs)
        .set({ status: "FAILED" })
        .where(
          inArray(
            relayJobs.id,
            jobs.map((row) => row.jobId!),
          ),
        );
      const confirmed = (await api.services.db.select().from(platformEvents).where(eq(platformEvents.tenantId, a.id)))
        .filter((event) => event.type === "transaction.confirmed")
        .map((event) => event.data.transactionId);
      assert.deepEqual(
        ids.map((id) => confirmed.filter((found) => found === id).length),
        [1, 1, 1],
      );
    });

    it("lists the indexer's movements with every filter, beside the pending requests, and balances of points and rewards", async () => {
      // A tenant of its own, so that the lists hold exactly this test's movements; another tenant
      // moves tokens to the same address, which no list of this one may show.
      const t = await createTestTenant(api);
      const other = await createTestTenant(api);
      const { pointsToken, rewardToken } = t.tenant.contracts as { pointsToken: Address; rewardToken: Address };
      const alice = await insertUser(api, t.id, { email: "alice@filters.test" });
      const bob = await insertUser(api, t.id, { email: "bob@filters.test" });
      const carolWallet = privateKeyToAccount(generatePrivateKey());
      const carol = await insertUser(api, t.id, { walletAddress: carolWallet.address });
      const [aliceAddress, bobAddress] = [alice.user.walletAddress, bob.user.walletAddress] as [Address, Address];

      /** Each movement as the indexer should have it, by name. */
      const movements = new Map<string, string>();
      const key = (row: IndexedRow) =>
        [row.transactionHash, row.type, row.token, row.tokenId, row.from, row.to, row.amount].join(":").toLowerCase();
      const expect = (name: string, transactionHash: Hash, movement: Omit<IndexedRow, "transactionHash">) =>
        movements.set(key({ transactionHash, ...movement }), name);
      /** A request made and carried to the chain as the relayer would; the request then. */
      const carried = async (caller: string, body: Record<string, unknown>) => {
        const accepted = await post(caller, body);
        assert.equal(accepted.status, 202, accepted.text);
        if (body.type === "MINT") await runJobs(api, chain, issueKind);
        else await relayForwardJobs(api, chain);
        const done = await read(caller, accepted.body.id);
        assert.equal(done.body.status, "COMPLETED", done.text);
        return done.body as { transactionHash: Hash; reference: string | null };
      };
      const points = (amount: number) => ({ token: pointsToken, tokenId: "0", amount: String(amount) });
      const rewards = (amount: number) => ({ token: rewardToken, tokenId: String(REWARD_ID), amount: String(amount) });

      // Each movement in a block of its own, so that each has a time of its own.
      const grant = await carried(t.adminToken, { type: "MINT", userId: alice.user.id, amount: "100" });
      expect("aliceGranted", grant.transactionHash, {
        type: "MINT",
        ...points(100),
        from: zeroAddress,
        to: aliceAddress,
      });
      expect("bobIssued", (await issuePoints(chain, t.tenant, bobAddress, 50n)).transactionHash, {
        type: "MINT",
        ...points(50),
        from: zeroAddress,
        to: bobAddress,
      });
      expect("carolIssued", (await issuePoints(chain, t.tenant, carolWallet.address, 20n)).transactionHash, {
        type: "MINT",
        ...points(20),
        from: zeroAddress,
        to: carolWallet.address,
      });
      await defineClass(chain, t.tenant, "rewardToken", REWARD_ID);
      const rewardGrant = await carried(t.adminToken, { type: "MINT", ...rewards(3), to: aliceAddress });
      expect("aliceRewarded", rewardGrant.transactionHash, {
        type: "MINT",
        ...rewards(3),
        from: zeroAddress,
        to: aliceAddress,
      });
      expect(
        "alicePaysBob",
        (await carried(alice.token, { type: "TRANSFER", toUserId: bob.user.id, amount: "30" })).transactionHash,
        {
          type: "TRANSFER",
          ...points(30),
          from: aliceAddress,
          to: bobAddress,
        },
      );
      expect("aliceBurns", (await carried(alice.token, { type: "BURN", amount: "10" })).transactionHash, {
        type: "BURN",
        ...points(10),
        from: aliceAddress,
        to: zeroAddress,
      });
      expect(
        "aliceGivesReward",
        (await carried(alice.token, { type: "TRANSFER", ...rewards(2), to: bobAddress })).transactionHash,
        {
          type: "TRANSFER",
          ...rewards(2),
          from: aliceAddress,
          to: bobAddress,
        },
      );
      expect("bobBurnsReward", (await carried(bob.token, { type: "BURN", ...rewards(1) })).transactionHash, {
        type: "BURN",
        ...rewards(1),
        from: bobAddress,
        to: zeroAddress,
      });
      const elsewhere = await issuePoints(chain, other.tenant, aliceAddress, 7n);
      await waitForIndexedBlock(indexer.url, clientsOf(chain).chainId, elsewhere.blockNumber, {
        timeoutMs: 60_000,
      }).catch((error) => {
        throw new Error(`${error.message}\n${indexerOutput}`);
      });

      const list = async (path: string, token = t.adminToken) => {
        const response = await api.request("GET", path, { token });
        assert.equal(response.status, 200, `${path}: ${response.text}`);
        return response.body;
      };
      /** The names of the movements a list returns (sorted), and the ids of its pending requests. */
      const names = async (path: string, token = t.adminToken) => {
        const body = await list(path, token);
        return body.data
          .map((row: IndexedRow & { timestamp: string }) => movements.get(key(row)) ?? `unexpected ${key(row)}`)
          .sort();
      };
      const all = [
        "aliceBurns",
        "aliceGivesReward",
        "aliceGranted",
        "alicePaysBob",
        "aliceRewarded",
        "bobBurnsReward",
        "bobIssued",
        "carolIssued",
      ];
      assert.deepEqual(await names("/transactions?limit=100"), all);
      const everything = await list("/transactions?limit=100");
      assert.equal(everything.pagination.total, all.length);
      assert.ok(everything.data.every((row: { status: string }) => row.status === "CONFIRMED"));
      const granted = everything.data.find(
        (row: IndexedRow & { timestamp: string }) => movements.get(key(row)) === "aliceGranted",
      );
      assert.deepEqual([granted.cause, granted.causeReference], ["GRANT", grant.reference]);

      assert.deepEqual(await names(`/transactions?token=${rewardToken}`), [
        "aliceGivesReward",
        "aliceRewarded",
        "bobBurnsReward",
      ]);
      assert.deepEqual(await names(`/transactions?token=${pointsToken}&type=MINT`), [
        "aliceGranted",
        "bobIssued",
        "carolIssued",
      ]);
      assert.deepEqual(await names("/transactions?type=MINT"), [
        "aliceGranted",
        "aliceRewarded",
        "bobIssued",
        "carolIssued",
      ]);
      assert.deepEqual(await names("/transactions?type=TRANSFER"), ["aliceGivesReward", "alicePaysBob"]);
      assert.deepEqual(await names("/transactions?type=BURN"), ["aliceBurns", "bobBurnsReward"]);
      assert.deepEqual(await names(`/transactions?participant=${bobAddress}`), [
        "aliceGivesReward",
        "alicePaysBob",
        "bobBurnsReward",
        "bobIssued",
      ]);
      assert.deepEqual(await names(`/transactions?participant=${bobAddress}&direction=received`), [
        "aliceGivesReward",
        "alicePaysBob",
        "bobIssued",
      ]);
      assert.deepEqual(await names(`/transactions?participant=${bobAddress}&direction=sent`), ["bobBurnsReward"]);
      // Addresses are matched whatever their case.
      assert.deepEqual(await names(`/transactions?participant=${aliceAddress.toLowerCase()}&type=TRANSFER`), [
        "aliceGivesReward",
        "alicePaysBob",
      ]);
      assertInvalid(await api.request("GET", "/transactions?direction=sent", { token: t.adminToken }), [
        "query.direction",
      ]);

      // Dates: block times, inclusive at both ends; each movement is in a block of its own.
      const secondsOf = (name: string) =>
        Number(
          everything.data.find((row: IndexedRow & { timestamp: string }) => movements.get(key(row)) === name).timestamp,
        );
      const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
      assert.ok(secondsOf("aliceRewarded") < secondsOf("alicePaysBob"));
      assert.ok(secondsOf("aliceGivesReward") < secondsOf("bobBurnsReward"));
      assert.deepEqual(
        await names(
          `/transactions?dateFrom=${iso(secondsOf("alicePaysBob"))}&dateTo=${iso(secondsOf("aliceGivesReward"))}`,
        ),
        ["aliceBurns", "aliceGivesReward", "alicePaysBob"],
      );
      assert.deepEqual(await names(`/transactions?dateFrom=${iso(secondsOf("aliceGivesReward"))}`), [
        "aliceGivesReward",
        "bobBurnsReward",
      ]);
      assert.deepEqual(await names(`/transactions?dateTo=${iso(secondsOf("bobIssued"))}`), [
        "aliceGranted",
        "bobIssued",
      ]);

      // Pages in time order, with the total of every page.
      const firstPage = await list("/transactions?limit=3&page=1&order=asc");
      assert.deepEqual(
        firstPage.data.map((row: IndexedRow & { timestamp: string }) => movements.get(key(row))),
        ["aliceGranted", "bobIssued", "carolIssued"],
      );
      assert.equal(firstPage.pagination.total, all.length);
      const lastPage = await list("/transactions?limit=3&page=3&order=asc");
      assert.deepEqual(
        lastPage.data.map((row: IndexedRow & { timestamp: string }) => movements.get(key(row))),
        ["aliceGivesReward", "bobBurnsReward"],
      );

      // A user's own: sent and received, never another tenant's movement to the same address.
      assert.deepEqual(await names("/transactions/me", alice.token), [
        "aliceBurns",
        "aliceGivesReward",
        "aliceGranted",
        "alicePaysBob",
        "aliceRewarded",
      ]);
      assert.deepEqual(await names("/transactions/me?direction=sent", alice.token), [
        "aliceBurns",
        "aliceGivesReward",
        "alicePaysBob",
      ]);
      assert.deepEqual(await names("/transactions/me?direction=received", alice.token), [
        "aliceGranted",
        "aliceRewarded",
      ]);
      assert.deepEqual(await names(`/transactions/me?direction=sent&token=${rewardToken}`, alice.token), [
        "aliceGivesReward",
      ]);
      assert.deepEqual(await names("/transactions/me?type=BURN", bob.token), ["bobBurnsReward"]);
      assert.equal(
        (await api.request("GET", `/transactions/me?participant=${bobAddress}`, { token: alice.token })).status,
        400,
      );
      assert.equal((await api.request("GET", "/transactions", { token: alice.token })).status, 403);

      // Requests the chain has not confirmed: alice's queued transfer, carol's burn awaiting her signature.
      const queued = await post(alice.token, { type: "TRANSFER", toUserId: bob.user.id, amount: "5" });
      assert.equal(queued.status, 202, queued.text);
      const unsigned = await post(carol.token, { type: "BURN", amount: "5" });
      assert.equal(unsigned.body.status, "AWAITING_SIGNATURE", unsigned.text);
      const pendingOf = async (path: string, token = t.adminToken) =>
        (await list(path, token)).pending.map((row: { id: string }) => row.id).sort();
      const [queuedId, unsignedId] = [queued.body.id, unsigned.body.id];
      assert.deepEqual(await pendingOf("/transactions"), [queuedId, unsignedId].sort());
      assert.deepEqual(await pendingOf("/transactions?status=PENDING"), [queuedId]);
      assert.deepEqual(await pendingOf("/transactions?status=AWAITING_SIGNATURE"), [unsignedId]);
      assert.deepEqual(await pendingOf("/transactions?status=CONFIRMED"), []);
      assert.deepEqual(await pendingOf("/transactions?type=BURN"), [unsignedId]);
      assert.deepEqual(await pendingOf(`/transactions?token=${rewardToken}`), []);
      assert.deepEqual(await pendingOf(`/transactions?participant=${bobAddress}&direction=received`), [queuedId]);
      assert.deepEqual(await pendingOf("/transactions/me?direction=sent", bob.token), []);
      assert.deepEqual(await pendingOf("/transactions/me", bob.token), [queuedId]);
      assert.deepEqual(await names("/transactions?status=PENDING"), []);
      assert.deepEqual(await names("/transactions?status=CONFIRMED&limit=100"), all);
      const later = iso(Math.floor(Date.now() / 1000) + 3600);
      assert.deepEqual(await pendingOf(`/transactions?dateFrom=${later}`), []);

      // Balances: points and the reward id, as the chain has them, with the request not confirmed yet.
      const balancesOf = async (path: string, token: string) => {
        const body = await list(path, token);
        return {
          address: body.address,
          data: body.data.map((row: any) => [row.kind, row.token, row.tokenId, row.amount]),
          pending: body.pending.map((row: { id: string }) => row.id),
        };
      };
      // Not the other tenant's points at the same address.
      const aliceBalances = {
        address: aliceAddress,
        data: [
          ["POINTS", pointsToken.toLowerCase(), "0", "60"],
          ["REWARD", rewardToken.toLowerCase(), String(REWARD_ID), "1"],
        ].sort((x, y) => x[1]!.localeCompare(y[1]!)),
        pending: [queuedId],
      };
      assert.deepEqual(await balancesOf("/balances", alice.token), aliceBalances);
      assert.deepEqual(await balancesOf(`/balances?userId=${alice.user.id}`, t.adminToken), aliceBalances);
      assert.deepEqual(await balancesOf(`/balances?token=${rewardToken}`, alice.token), {
        address: aliceAddress,
        data: [["REWARD", rewardToken.toLowerCase(), String(REWARD_ID), "1"]],
        pending: [],
      });
      const bobBalances = await balancesOf(`/balances?address=${bobAddress}`, t.adminToken);
      assert.deepEqual(
        bobBalances.data,
        [
          ["POINTS", pointsToken.toLowerCase(), "0", "80"],
          ["REWARD", rewardToken.toLowerCase(), String(REWARD_ID), "1"],
        ].sort((x, y) => x[1]!.localeCompare(y[1]!)),
      );
    });

    it("relays at most RELAYER_WALLET_REQUESTS_PER_HOUR requests of one wallet an hour, custodial or signed, then 429", async () => {
      const opened = await database.open();
      const limited = await startTestApi({
        database: opened.parameters,
        chain,
        environment: { RELAYER_WALLET_REQUESTS_PER_HOUR: "2" },
      });
      try {
        const tenant = await createTestTenant(limited);
        const custodial = await insertUser(limited, tenant.id, { email: "many@tx.test" });
        const other = await insertUser(limited, tenant.id, { email: "other@tx.test" });
        const wallet = privateKeyToAccount(generatePrivateKey());
        const selfCustody = await insertUser(limited, tenant.id, { walletAddress: wallet.address });
        for (const holder of [custodial, other, selfCustody])
          await issuePoints(chain, tenant.tenant, holder.user.walletAddress as Address, 10n);
        const burn = (token: string) =>
          limited.request("POST", "/transactions", { token, body: { type: "BURN", amount: "1" } });
        for (let index = 0; index < 2; index++) assert.equal((await burn(custodial.token)).status, 202);
        const refused = await burn(custodial.token);
        assert.equal(refused.status, 429, refused.text);
        assert.ok(isProblem(refused));
        const retryAfter = Number(refused.headers.get("retry-after"));
        assert.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After: ${retryAfter}`);
        assert.equal((await burn(other.token)).status, 202, "another wallet's requests are its own");
        // A self-custody wallet's requests count when their signatures queue them.
        const signed: number[] = [];
        for (let index = 0; index < 3; index++) {
          const unsigned = await burn(selfCustody.token);
          assert.equal(unsigned.body.status, "AWAITING_SIGNATURE", unsigned.text);
          const signature = await signWith(wallet, unsigned.body.typedData);
          const answer = await limited.request("POST", `/transactions/${unsigned.body.id}/signature`, {
            token: selfCustody.token,
            body: { signature },
          });
          signed.push(answer.status);
        }
        assert.deepEqual(signed, [202, 202, 429]);
      } finally {
        await limited.close();
        await opened.drop();
      }
    });

    it("answers 503 when the indexer is down, for transactions and balances", async () => {
      const opened = await database.open();
      const down = await startTestApi({
        database: opened.parameters,
        chain,
        environment: { INDEXER_URL: "http://127.0.0.1:9", INDEXER_TIMEOUT_MS: "1000" },
      });
      try {
        const tenant = await createTestTenant(down);
        const { token } = await insertUser(down, tenant.id, { email: "reader@tx.test" });
        for (const [path, caller] of [
          ["/transactions", { token: tenant.adminToken }],
          ["/transactions/me", { token }],
          ["/balances", { token }],
        ] as const) {
          const response = await down.request("GET", path, caller);
          assert.equal(response.status, 503, `${path} ${response.text}`);
          assert.ok(isProblem(response));
        }
      } finally {
        await down.close();
        await opened.drop();
      }
    });
  });
}
