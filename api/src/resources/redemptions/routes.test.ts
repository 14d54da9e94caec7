import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { assertInvalid, assertRefused, callersOf, type TenantCallers } from "../../../test/callers.ts";
import {
  clientsOf,
  createOffer,
  holdings,
  issuePoints,
  relayForwardJobs,
  signWith,
} from "../../../test/forwardRelay.ts";
import { platformEvents, relayJobs } from "../../db/relaySchema.ts";
import { redemptions } from "../../db/redemptionsSchema.ts";
import type { ForwardPayload } from "../../relay/kinds/forward.ts";
import { erc2771ForwarderAbi } from "../../../../abi/erc2771Forwarder.ts";
import { redemptionRegistryAbi } from "../../../../abi/redemptionRegistry.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const PRICE = 100n;

for (const database of testDatabases()) {
  describe(`/redemptions on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let ca: TenantCallers;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      ca = await callersOf(api, a);
    });
    after(() => api.close());

    const redeemAs = (token: string, body: Record<string, unknown>) =>
      api.request("POST", "/redemptions/redeems", { token, body });

    it("redeems for a custodial user: signed by the server, queued, relayed, points burned and the reward paid", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const { user, token } = await insertUser(api, a.id, { email: "custodial@redeem.test" });
      await issuePoints(chain, a.tenant, user.walletAddress as Address, 250n);

      const accepted = await redeemAs(token, { offerId: Number(offerId), quantity: 2 });
      assert.equal(accepted.status, 202, accepted.text);
      assert.equal(accepted.body.status, "PENDING");
      assert.equal(accepted.body.typedData, null);
      assert.equal(accepted.body.holder, user.walletAddress);
      assert.equal(accepted.body.offerId, String(offerId));
      assert.equal(accepted.body.quantity, 2);

      const relayed = await relayForwardJobs(api, chain);
      assert.equal(relayed.transactions, 1);
      const read = await api.request("GET", `/redemptions/redeems/${accepted.body.id}`, { token });
      assert.equal(read.body.status, "COMPLETED", read.text);
      assert.match(read.body.transactionHash, /^0x[0-9a-f]{64}$/);
      assert.ok(Number(read.body.onchainRedemptionId) >= 1);
      assert.deepEqual(await holdings(chain, a.tenant, user.walletAddress as Address), { points: 50n, rewards: 2n });
      const events = await api.services.db.select().from(platformEvents).where(eq(platformEvents.tenantId, a.id));
      const completed = events.filter((event) => event.type === "redemption.completed");
      assert.ok(completed.some((event) => event.data.redemptionId === accepted.body.id));
    });

    it("redeems for a self-custody user with their signature; a forged, altered or replayed signature is refused", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const wallet = privateKeyToAccount(generatePrivateKey());
      const { user, token } = await insertUser(api, a.id, { walletAddress: wallet.address });
      await issuePoints(chain, a.tenant, wallet.address, 300n);

      const created = await redeemAs(token, { offerId: Number(offerId), quantity: 1 });
      assert.equal(created.status, 202, created.text);
      assert.equal(created.body.status, "AWAITING_SIGNATURE");
      const typedData = created.body.typedData;
      assert.equal(typedData.primaryType, "ForwardRequest");
      assert.equal(typedData.message.from, wallet.address);
      assert.equal(typedData.message.to, a.tenant.contracts.redemptionRegistry);
      assert.equal(typedData.domain.verifyingContract, chain.chains.get(31337)!.deployment.contracts.forwarder);
      // Nothing is queued before the holder signs.
      assert.equal((await relayForwardJobs(api, chain)).jobs, 0);
      const path = `/redemptions/redeems/${created.body.id}/signature`;

      const forged = await signWith(privateKeyToAccount(generatePrivateKey()), typedData);
      const refused = await api.request("POST", path, { token, body: { signature: forged } });
      assert.equal(refused.status, 422, refused.text);
      assert.ok(isProblem(refused));
      const altered = await signWith(wallet, {
        ...typedData,
        message: { ...typedData.message, gas: String(BigInt(typedData.message.gas) + 1n) },
      });
      assert.equal((await api.request("POST", path, { token, body: { signature: altered } })).status, 422);
      assertInvalid(await api.request("POST", path, { token, body: { signature: "0x1234" } }), ["body.signature"]);
      assertInvalid(await api.request("POST", path, { token, body: { signature: forged, extra: 1 } }), ["body"]);

      const signature = await signWith(wallet, typedData);
      const signed = await api.request("POST", path, { token, body: { signature } });
      assert.equal(signed.status, 202, signed.text);
      assert.equal(signed.body.status, "PENDING");
      assert.equal(signed.body.typedData, null);
      const replayed = await api.request("POST", path, { token, body: { signature } });
      assert.equal(replayed.status, 409);
      assert.ok(isProblem(replayed));

      await relayForwardJobs(api, chain);
      const read = await api.request("GET", `/redemptions/redeems/${created.body.id}`, { token });
      assert.equal(read.body.status, "COMPLETED", read.text);
      assert.equal(read.body.userId, user.id);
      assert.deepEqual(await holdings(chain, a.tenant, wallet.address), { points: 200n, rewards: 1n });

      // The same signature on a second request of the same wallet: its nonce is the next one now.
      const second = await redeemAs(token, { offerId: Number(offerId), quantity: 1 });
      assert.equal(BigInt(second.body.typedData.message.nonce), BigInt(typedData.message.nonce) + 1n);
      const reused = await api.request("POST", `/redemptions/redeems/${second.body.id}/signature`, {
        token,
        body: { signature },
      });
      assert.equal(reused.status, 422);
      assert.deepEqual(await holdings(chain, a.tenant, wallet.address), { points: 200n, rewards: 1n });
    });

    it("takes a wallet's signature with v as 0 or 1, or with the other s, in the form the forwarder accepts", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const wallet = privateKeyToAccount(generatePrivateKey());
      const { token } = await insertUser(api, a.id, { walletAddress: wallet.address });
      await issuePoints(chain, a.tenant, wallet.address, 300n);
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const variants = {
        "v as 0 or 1": (signature: Hex) =>
          `${signature.slice(0, 130)}0${Number.parseInt(signature.slice(130), 16) - 27}` as Hex,
        "the other s": (signature: Hex) => {
          const s = BigInt(`0x${signature.slice(66, 130)}`);
          const v = Number.parseInt(signature.slice(130), 16) === 27 ? "1c" : "1b";
          return `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, "0")}${v}` as Hex;
        },
      };
      for (const [variant, change] of Object.entries(variants)) {
        const created = await redeemAs(token, { offerId: Number(offerId), quantity: 1 });
        const signature = await signWith(wallet, created.body.typedData);
        const path = `/redemptions/redeems/${created.body.id}/signature`;
        const signed = await api.request("POST", path, { token, body: { signature: change(signature) } });
        assert.equal(signed.status, 202, `${variant}: ${signed.text}`);
        await relayForwardJobs(api, chain);
        const read = await api.request("GET", `/redemptions/redeems/${created.body.id}`, { token });
        assert.equal(read.body.status, "COMPLETED", `${variant}: ${read.text}`);
      }
      assert.deepEqual(await holdings(chain, a.tenant, wallet.address), { points: 100n, rewards: 2n });
    });

    it("completes a redemption whose signed request someone sent to the forwarder before the relayer, once", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 5n });
      const { user, token } = await insertUser(api, a.id);
      const holder = user.walletAddress as Address;
      await issuePoints(chain, a.tenant, holder, 250n);
      const accepted = await redeemAs(token, { offerId: Number(offerId), quantity: 1 });
      assert.equal(accepted.status, 202, accepted.text);
      // What anyone watching the relayer's transaction sees: the signed request, sent on its own.
      const [record] = await api.services.db.select().from(redemptions).where(eq(redemptions.id, accepted.body.id));
      const [job] = await api.services.db.select().from(relayJobs).where(eq(relayJobs.id, record!.jobId!));
      const { forwarder, request } = job!.payload as ForwardPayload;
      const { walletClient, publicClient } = clientsOf(chain);
      const hash = await walletClient.writeContract({
        address: forwarder,
        abi: erc2771ForwarderAbi,
        functionName: "execute",
        args: [{ ...request, value: 0n, gas: BigInt(request.gas) }],
      } as never);
      await publicClient.waitForTransactionReceipt({ hash });

      await relayForwardJobs(api, chain);
      const read = await api.request("GET", `/redemptions/redeems/${accepted.body.id}`, { token });
      assert.equal(read.body.status, "COMPLETED", read.text);
      assert.equal(read.body.transactionHash, hash, "the transaction that executed it");
      assert.ok(Number(read.body.onchainRedemptionId) >= 1);
      assert.deepEqual(await holdings(chain, a.tenant, holder), { points: 150n, rewards: 1n });
      const events = await api.services.db.select().from(platformEvents).where(eq(platformEvents.tenantId, a.id));
      const about = events.filter((event) => event.data.redemptionId === accepted.body.id).map((event) => event.type);
      assert.deepEqual(about, ["redemption.completed"]);
    });

    it("refuses with 422 what the chain would refuse: no such offer, not enough points, a closed window", async () => {
      const { user, token } = await insertUser(api, a.id, { email: "poor@redeem.test" });
      const offerId = Number(await createOffer(chain, a.tenant, { price: PRICE, supply: 3n }));
      await issuePoints(chain, a.tenant, user.walletAddress as Address, 150n);

      const unknown = await redeemAs(token, { offerId: 9999 });
      assert.equal(unknown.status, 422);
      assert.match(unknown.body.detail, /no offer 9999/);
      const poor = await redeemAs(token, { offerId, quantity: 2 });
      assert.equal(poor.status, 422, poor.text);
      assert.match(poor.body.detail, /ERC20InsufficientBalance/);
      const tooMany = await redeemAs(token, { offerId, quantity: 4 });
      assert.equal(tooMany.status, 422);
      assert.match(tooMany.body.detail, /not open|RedemptionSupplyExhausted/);
      const later = Number(await createOffer(chain, a.tenant, { startIn: 3600 }));
      const notYet = await redeemAs(token, { offerId: later });
      assert.equal(notYet.status, 422);
      assert.match(notYet.body.detail, /not open/);
      assert.equal(
        (await api.request("GET", `/redemptions/redeems?userId=${user.id}`, { token: a.adminToken })).body.pagination
          .total,
        0,
      );
      assertInvalid(await redeemAs(token, { offerId: 0, quantity: -1, colour: "red" }), [
        "body.offerId",
        "body.quantity",
        "body",
      ]);
      assertInvalid(await redeemAs(token, { offerId: "one" }), ["body.offerId"]);
      assertInvalid(await redeemAs(a.adminToken, { offerId }), ["body.userId"]);
      assert.equal((await api.request("POST", "/redemptions/redeems", { body: { offerId } })).status, 401);
      const business = await api.request("POST", "/redemptions/redeems", { ...ca.callers.BUSINESS, body: { offerId } });
      assert.equal(business.status, 403);
      const forOther = await redeemAs(token, { offerId, userId: ca.user.id });
      assert.equal(forOther.status, 403);
      const unknownUser = await redeemAs(a.adminToken, { offerId, userId: crypto.randomUUID() });
      assert.equal(unknownUser.status, 404);
      const unknownBusiness = await redeemAs(token, { offerId, businessId: crypto.randomUUID() });
      assert.equal(unknownBusiness.status, 404);
    });

    it("lets an admin or a SYSTEM key redeem for a user, at a business; lists show each caller what is theirs", async () => {
      const offerId = Number(await createOffer(chain, a.tenant, { price: 10n, supply: 10n }));
      await issuePoints(chain, a.tenant, ca.user.walletAddress as Address, 100n);
      const byAdmin = await redeemAs(a.adminToken, { offerId, userId: ca.user.id, businessId: ca.business.id });
      assert.equal(byAdmin.status, 202, byAdmin.text);
      assert.equal(byAdmin.body.business, ca.business.walletAddress);
      const bySystem = await api.request("POST", "/redemptions/redeems", {
        ...ca.callers.SYSTEM,
        body: { offerId, userId: ca.user.id },
      });
      assert.equal(bySystem.status, 202, bySystem.text);
      await relayForwardJobs(api, chain);

      const mine = await api.request("GET", "/redemptions/redeems?limit=100", ca.callers.USER);
      assert.deepEqual(
        mine.body.data.map((row: { id: string }) => row.id).sort(),
        [byAdmin.body.id, bySystem.body.id].sort(),
      );
      assert.ok(mine.body.data.every((row: { status: string }) => row.status === "COMPLETED"));
      const atBusiness = await api.request("GET", "/redemptions/redeems", ca.callers.BUSINESS);
      assert.deepEqual(
        atBusiness.body.data.map((row: { id: string }) => row.id),
        [byAdmin.body.id],
      );
      const completed = await api.request("GET", `/redemptions/redeems?status=COMPLETED&offerId=${offerId}`, {
        token: a.adminToken,
      });
      assert.equal(completed.body.pagination.total, 2);
      const otherUser = await insertUser(api, a.id, { email: "other@redeem.test" });
      assert.equal(
        (await api.request("GET", `/redemptions/redeems/${byAdmin.body.id}`, { token: otherUser.token })).status,
        404,
      );
      assert.equal(
        (await api.request("GET", "/redemptions/redeems", { token: otherUser.token })).body.pagination.total,
        0,
      );
      assertInvalid(await api.request("GET", "/redemptions/redeems?status=DONE", { token: a.adminToken }), [
        "query.status",
      ]);
      assert.equal((await api.request("GET", "/redemptions/redeems", ca.callers.PUBLIC)).status, 403);
      assert.equal((await api.request("GET", "/redemptions/redeems")).status, 401);
    });

    it("lists the tenant's offers from the chain to anyone who names the tenant, with their types", async () => {
      const c = await createTestTenant(api);
      const cc = await callersOf(api, c, "offers");
      const first = await createOffer(chain, c.tenant, { price: 5n, supply: 2n });
      const second = await createOffer(chain, c.tenant, { price: 7n, supply: 3n, startIn: 3600 });
      for (const [level, caller] of Object.entries(cc.callers)) {
        const listed = await api.request("GET", "/redemptions?order=asc", caller);
        assert.equal(listed.status, 200, `${level} ${listed.text}`);
        assert.deepEqual(
          listed.body.data.map((item: { offerId: string }) => item.offerId),
          [String(first), String(second)],
        );
        assert.equal(listed.body.pagination.total, 2);
      }
      const one = await api.request("GET", `/redemptions/${first}`, cc.callers.PUBLIC);
      assert.equal(one.status, 200);
      assert.equal(one.body.open, true);
      assert.equal(one.body.type, "REWARD");
      assert.equal(one.body.supplyLeft, "2");
      assert.deepEqual(one.body.costs, [{ token: c.tenant.contracts.pointsToken, tokenId: "0", amount: "5" }]);
      const open = await api.request("GET", "/redemptions?open=true", cc.callers.PUBLIC);
      assert.deepEqual(
        open.body.data.map((item: { offerId: string }) => item.offerId),
        [String(first)],
      );
      const types = await api.request("GET", "/redemptions/types", cc.callers.PUBLIC);
      assert.deepEqual(
        types.body.data.find((item: { type: string }) => item.type === "REWARD"),
        {
          type: "REWARD",
          offers: 2,
          open: 1,
        },
      );
      assert.equal((await api.request("GET", "/redemptions/99", cc.callers.PUBLIC)).status, 404);
      assertInvalid(await api.request("GET", "/redemptions/abc", cc.callers.PUBLIC), ["params.offerId"]);
      assertInvalid(await api.request("GET", "/redemptions?limit=0&type=GOLD", cc.callers.PUBLIC), [
        "query.limit",
        "query.type",
      ]);
      assert.equal((await api.request("GET", "/redemptions")).status, 401);
    });

    it("reads every offer once a block for the lists that filter, however many ask, and afresh after a block", async () => {
      const c = await createTestTenant(api);
      const cc = await callersOf(api, c, "snapshot");
      const offers = [
        await createOffer(chain, c.tenant, { price: 5n, supply: 2n }),
        await createOffer(chain, c.tenant, { price: 6n, supply: 2n }),
        await createOffer(chain, c.tenant, { price: 7n, supply: 2n, startIn: 3600 }),
      ];
      const { publicClient } = clientsOf(chain);
      const readContract = publicClient.readContract;
      let reads = 0;
      publicClient.readContract = ((...args: Parameters<typeof readContract>) => {
        reads += 1;
        return readContract(...args);
      }) as typeof readContract;
      try {
        const asked = await Promise.all([
          ...Array.from({ length: 5 }, () => api.request("GET", "/redemptions?open=true", cc.callers.PUBLIC)),
          api.request("GET", "/redemptions/types", cc.callers.PUBLIC),
        ]);
        assert.ok(asked.every((answer) => answer.status === 200));
        for (const answer of asked.slice(0, 5)) {
          assert.deepEqual(
            answer.body.data.map((item: { offerId: string }) => item.offerId),
            [String(offers[1]), String(offers[0])],
          );
        }
        // The count and four calls an offer, once for the six requests.
        assert.equal(reads, 1 + 4 * offers.length);
        // A new block (a new offer) is read afresh.
        const fourth = await createOffer(chain, c.tenant, { price: 8n, supply: 1n });
        const after = await api.request("GET", "/redemptions?open=true&order=asc", cc.callers.PUBLIC);
        assert.deepEqual(
          after.body.data.map((item: { offerId: string }) => item.offerId),
          [String(offers[0]), String(offers[1]), String(fourth)],
        );
        assert.equal(after.body.pagination.total, 3);
      } finally {
        publicClient.readContract = readContract;
      }
    });

    it("isolates tenants: no caller of A reads, signs or redeems B's redemptions, users or businesses", async () => {
      const offerB = Number(await createOffer(chain, b.tenant, { price: 1n, supply: 5n }));
      const wallet = privateKeyToAccount(generatePrivateKey());
      const userB = await insertUser(api, b.id, { walletAddress: wallet.address, email: "b-secret@redeem.test" });
      await issuePoints(chain, b.tenant, wallet.address, 10n);
      const secret = await redeemAs(userB.token, { offerId: offerB });
      assert.equal(secret.status, 202, secret.text);
      const cb = await callersOf(api, b, "iso");
      // (The id itself is in the URL, which a problem's `instance` repeats.)
      const hidden = [wallet.address, "b-secret@redeem.test", b.tenant.contracts.redemptionRegistry];
      const signature = await signWith(wallet, secret.body.typedData);
      for (const [level, caller] of Object.entries(ca.callers)) {
        assertRefused(
          await api.request("GET", `/redemptions/redeems/${secret.body.id}`, caller),
          hidden,
          `${level} GET`,
        );
        assertRefused(
          await api.request("POST", `/redemptions/redeems/${secret.body.id}/signature`, {
            ...caller,
            body: { signature },
          }),
          hidden,
          `${level} signature`,
        );
        if (level !== "PUBLIC") {
          const list = await api.request("GET", "/redemptions/redeems?limit=100", caller);
          for (const value of [...hidden, secret.body.id]) {
            assert.ok(!list.text.includes(value), `${level} list shows ${value}`);
          }
        }
        if (level === "ADMIN" || level === "SYSTEM") {
          assertRefused(
            await api.request("POST", "/redemptions/redeems", {
              ...caller,
              body: { offerId: offerB, userId: userB.user.id },
            }),
            hidden,
            `${level} redeem for B's user`,
          );
        }
      }
      assertRefused(
        await redeemAs(ca.callers.USER.token!, { offerId: offerB, businessId: cb.business.id }),
        hidden,
        "USER at B's business",
      );
      // B's offer ids mean A's offers for A's callers: B's offer 1 is never shown to them.
      const listed = await api.request("GET", "/redemptions?limit=100", ca.callers.PUBLIC);
      assert.ok(!listed.text.includes(b.tenant.contracts.pointsToken));
      const still = await api.request("GET", `/redemptions/redeems/${secret.body.id}`, { token: userB.token });
      assert.equal(still.body.status, "AWAITING_SIGNATURE");
    });

    it("50 simultaneous redemptions of an offer with supply 10: exactly 10 complete on chain, the others fail", async () => {
      const offerId = await createOffer(chain, a.tenant, { price: PRICE, supply: 10n });
      const holders = await Promise.all(
        Array.from({ length: 25 }, (_, index) => insertUser(api, a.id, { email: `rush-${index}@redeem.test` })),
      );
      for (const { user } of holders) await issuePoints(chain, a.tenant, user.walletAddress as Address, 2n * PRICE);
      const answers = await Promise.all(
        holders.flatMap(({ token }) => [0, 1].map(() => redeemAs(token, { offerId: Number(offerId), quantity: 1 }))),
      );
      assert.deepEqual(
        answers.map((answer) => answer.status),
        Array(50).fill(202),
        answers.find((answer) => answer.status !== 202)?.text,
      );
      for (let round = 0; round < 5; round++) {
        if ((await relayForwardJobs(api, chain)).jobs === 0) break;
      }
      const statuses = await Promise.all(
        answers.map((answer) =>
          api.request("GET", `/redemptions/redeems/${answer.body.id}`, { token: a.adminToken }).then((r) => r.body),
        ),
      );
      const completed = statuses.filter((row) => row.status === "COMPLETED");
      assert.equal(completed.length, 10);
      assert.equal(statuses.filter((row) => row.status === "FAILED").length, 40);
      assert.equal(new Set(completed.map((row) => row.onchainRedemptionId)).size, 10);
      const { publicClient } = chain.chains.get(31337)!;
      const offer = await publicClient.readContract({
        address: a.tenant.contracts.redemptionRegistry,
        abi: redemptionRegistryAbi,
        functionName: "getOffer",
        args: [offerId],
      });
      assert.equal(offer.supplyLeft, 0n);
      assert.equal(offer.redeemed, 10n);
      let rewards = 0n;
      let points = 0n;
      for (const { user } of holders) {
        const held = await holdings(chain, a.tenant, user.walletAddress as Address);
        rewards += held.rewards;
        points += held.points;
        const own = completed.filter((row) => row.userId === user.id).length;
        assert.equal(held.rewards, BigInt(own), user.id);
      }
      assert.equal(rewards, 10n);
      assert.equal(points, 25n * 2n * PRICE - 10n * PRICE);
      const late = await redeemAs(holders[0]!.token, { offerId: Number(offerId) });
      assert.equal(late.status, 422);
    });
  });
}
