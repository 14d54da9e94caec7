// Each flow end to end, as a tenant's back end drives it: HTTP in, the API's own relayer carrying
// the jobs to a real chain, tokens on chain, and the right webhook out with a valid signature.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { parseUnits, type Address } from "viem";
import { pointsTokenAbi } from "../../abi/pointsToken.ts";
import { rewardTokenAbi } from "../../abi/rewardToken.ts";
import { signPurchaseWebhook } from "../src/resources/purchases/webhook.ts";
import { createOffer, REWARD_ID } from "./forwardRelay.ts";
import {
  createTestTenant,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "./harness.ts";
import { startWebhookReceiver, until, verifyWebhook, type WebhookReceiver } from "./webhookReceiver.ts";

let chain: TestChain;
let receiver: WebhookReceiver;
before(async () => {
  chain = await startTestChain();
  receiver = await startWebhookReceiver();
});
after(async () => {
  await receiver.close();
  await chain.close();
});

for (const database of testDatabases()) {
  describe(`flows end to end on ${database.name}`, () => {
    let api: TestApi;
    let tenant: TestTenant;
    let endpoint: { secret: string; path: string };
    let user: { id: string; walletAddress: Address };

    const read = (address: Address, abi: any, functionName: string, args: unknown[]) =>
      chain.chains.get(31337)!.publicClient.readContract({ address, abi, functionName, args }) as Promise<bigint>;
    const pointsOf = (address: Address) =>
      read(tenant.tenant.contracts.pointsToken, pointsTokenAbi, "balanceOf", [address]);
    /** The webhooks of one type delivered to the tenant's endpoint, verified and parsed. */
    const delivered = (type: string) =>
      receiver
        .on(endpoint.path)
        .map((webhook) => verifyWebhook(endpoint.secret, webhook))
        .filter((payload) => payload.type === type);
    const poll = async (path: string, done: (body: any) => boolean) => {
      let body: any;
      await until(async () => {
        body = (await api.request("GET", path, { token: tenant.adminToken })).body;
        return done(body);
      }, 60_000);
      return body;
    };

    before(async () => {
      api = await startTestApiOn(database, {
        chain,
        environment: {
          RELAYER_ENABLED: "true",
          RELAYER_POLL_INTERVAL_MS: "100",
          WEBHOOK_DISPATCHER: "true",
          WEBHOOK_POLL_INTERVAL_MS: "100",
          WEBHOOKS_ALLOW_HTTP: "true",
        },
      });
      tenant = await createTestTenant(api);
      const path = `/${database.name}/${randomUUID()}`;
      const created = await api.request("POST", "/webhooks", {
        token: tenant.adminToken,
        body: {
          url: receiver.url(path),
          eventTypes: ["claim.confirmed", "purchase.completed", "redemption.completed"],
        },
      });
      assert.equal(created.status, 201, created.text);
      endpoint = { secret: created.body.secret, path };
      const made = await api.request("POST", "/users", { token: tenant.adminToken, body: { email: "ann@flows.test" } });
      assert.equal(made.status, 201, made.text);
      user = made.body;
    });
    after(() => api.close());

    it("publishes a campaign, claims it for a custodial user and pays on chain, with claim.confirmed out", async () => {
      const campaign = await api.request("POST", "/campaigns", {
        token: tenant.adminToken,
        body: { title: "Welcome" },
      });
      assert.equal(campaign.status, 201, campaign.text);
      const amount = parseUnits("100", 18).toString();
      const payout = await api.request("POST", `/campaigns/${campaign.body.id}/tokens`, {
        token: tenant.adminToken,
        body: { tokenAddress: tenant.tenant.contracts.pointsToken, amount },
      });
      assert.equal(payout.status, 201, payout.text);
      const activated = await api.request("PATCH", `/campaigns/${campaign.body.id}`, {
        token: tenant.adminToken,
        body: { status: "ACTIVE" },
      });
      assert.equal(activated.status, 200, activated.text);
      await poll(`/campaigns/${campaign.body.id}`, (body) => Boolean(body.onchainCampaignId));

      const claim = await api.request("POST", "/campaigns/claims", {
        token: tenant.adminToken,
        headers: { "idempotency-key": randomUUID() },
        body: { campaignId: campaign.body.id, userId: user.id },
      });
      assert.equal(claim.status, 202, claim.text);
      assert.equal(claim.body.status, "PENDING");
      const confirmed = await poll(`/campaigns/claims/${claim.body.id}`, (body) => body.status === "CONFIRMED");
      assert.match(confirmed.transactionHash, /^0x[0-9a-f]{64}$/);
      assert.equal(await pointsOf(user.walletAddress), BigInt(amount));

      await until(async () => delivered("claim.confirmed").length > 0, 30_000);
      const [webhook] = delivered("claim.confirmed");
      assert.equal(JSON.stringify(webhook!.data).includes(claim.body.id), true, JSON.stringify(webhook));
    });

    it("issues a purchase from a provider's signed webhook exactly once, with purchase.completed out", async () => {
      const provider = await api.request("POST", "/purchases/providers", {
        token: tenant.adminToken,
        body: { name: "Payments Inc", currency: "EUR", pointsPerMinorUnit: "10000000000000000" },
      });
      assert.equal(provider.status, 201, provider.text);
      const before = await pointsOf(user.walletAddress);
      const event = {
        id: `evt_${randomUUID()}`,
        type: "payment.succeeded",
        data: { paymentId: randomUUID(), amount: 500, currency: "EUR", customer: { userId: user.id } },
      };
      const rawBody = JSON.stringify(event);
      const send = () => {
        const timestamp = Math.floor(Date.now() / 1000);
        return api.request("POST", `/purchases/webhooks/${provider.body.id}`, {
          rawBody,
          headers: {
            "content-type": "application/json",
            "x-pers-timestamp": String(timestamp),
            "x-pers-signature": signPurchaseWebhook(provider.body.secret, timestamp, rawBody),
          },
        });
      };
      const accepted = await send();
      assert.equal(accepted.status, 202, accepted.text);
      assert.equal((await send()).status, 200, "a replayed webhook is answered, not issued again");
      assert.equal(accepted.body.status, "ACCEPTED");
      await poll(`/purchases/${accepted.body.purchase.id}`, (body) => body.status === "COMPLETED");
      assert.equal((await pointsOf(user.walletAddress)) - before, 500n * 10n ** 16n);
      await until(async () => delivered("purchase.completed").length > 0, 30_000);
    });

    it("redeems for a custodial user through the forwarder: points burned, reward paid, redemption.completed out", async () => {
      const price = parseUnits("50", 18);
      const offerId = await createOffer(chain, tenant.tenant, { price, supply: 5n });
      const before = await pointsOf(user.walletAddress);
      const redeemed = await api.request("POST", "/redemptions/redeems", {
        token: tenant.adminToken,
        body: { offerId: Number(offerId), userId: user.id },
      });
      assert.equal(redeemed.status, 202, redeemed.text);
      await poll(`/redemptions/redeems/${redeemed.body.id}`, (body) => body.status === "COMPLETED");
      assert.equal(before - (await pointsOf(user.walletAddress)), price);
      assert.equal(
        await read(tenant.tenant.contracts.rewardToken, rewardTokenAbi, "balanceOf", [user.walletAddress, REWARD_ID]),
        1n,
      );
      await until(async () => delivered("redemption.completed").length > 0, 30_000);
    });
  });
}
