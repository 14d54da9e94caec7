import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
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
import { assertInvalid, assertRefused, callersOf, type TenantCallers } from "../../../test/callers.ts";
import { createOffer, holdings, issuePoints, relayForwardJobs } from "../../../test/forwardRelay.ts";
import { platformEvents } from "../../db/relaySchema.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const PRICE = 100n;

for (const database of testDatabases()) {
  describe(`/redemptions on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let a: TestTenant;
    let b: TestTenant;
    let ca: TenantCallers;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      api = await startTestApi({ database: opened.parameters, chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      ca = await callersOf(api, a);
    });
    after(async () => {
      await api.close();
      await drop();
    });

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
  });
}
