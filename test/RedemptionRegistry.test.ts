// RedemptionRegistry: creating and managing offers, and redeeming them directly, through the
// ERC-2771 forwarder and against a receiver that tries to re-enter.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, maxUint88, parseEventLogs, zeroAddress, type Address, type Hash } from "viem";
import { IssueReason, OfferStatus } from "../abi/enums.ts";
import { redemptionRegistryAbi } from "../abi/redemptionRegistry.ts";
import { signForwardRequest } from "../deploy/signatures.ts";
import {
  addTenant,
  asHex,
  claimRequest,
  createPointsCampaign,
  DAY,
  now,
  REWARD_ID,
  STATUS_ID,
  tenantFixture,
} from "./helpers/fixtures.ts";

const { viem, networkHelpers } = await network.create();

/** A second reward class: what the test offers pay out, while REWARD_ID is what some of them cost. */
const VOUCHER_ID = 2n;
const ALICE_POINTS = 1000n;
const BOB_POINTS = 300n;
const ALICE_REWARDS = 10n;
const SUPPLY = 10n;
const PRICE = 50n;

type TokenAmount = { token: Address; id: bigint; amount: bigint };
type OfferConfig = { start: number; end: number; supply: bigint; statusToken: Address; statusId: bigint };

/** The shared tenant, a voucher class, Alice with points (from a campaign claim) and rewards, Bob with
 * issued points, and a second tenant whose tokens this tenant's registry may not touch. */
async function redemptionFixture() {
  const base = await tenantFixture(viem);
  const { tenant, accounts, publicClient } = base;
  const mined = async (hash: Promise<Hash>) => publicClient.waitForTransactionReceipt({ hash: await hash });
  await mined(tenant.reward.write.defineClass([VOUCHER_ID, 0n, ""]));
  const campaignId = await createPointsCampaign(base, { amount: ALICE_POINTS, budget: ALICE_POINTS });
  await mined(tenant.campaigns.write.claim([claimRequest(campaignId, 1n, accounts.alice.account.address)]));
  await mined(
    tenant.points.write.issue([accounts.bob.account.address, BOB_POINTS, IssueReason.PURCHASE, asHex("bob-purchase")]),
  );
  await mined(
    tenant.reward.write.issue([
      accounts.alice.account.address,
      REWARD_ID,
      ALICE_REWARDS,
      IssueReason.GRANT,
      asHex("alice-rewards"),
    ]),
  );
  return { ...base, otherTenant: await addTenant(base, "tenant-b") };
}

type Fixture = Awaited<ReturnType<typeof redemptionFixture>>;

const pointsAmount = (f: Fixture, amount: bigint): TokenAmount => ({ token: f.tenant.points.address, id: 0n, amount });
const rewardAmount = (f: Fixture, id: bigint, amount: bigint): TokenAmount => ({
  token: f.tenant.reward.address,
  id,
  amount,
});
const statusAmount = (f: Fixture, amount: bigint): TokenAmount => ({
  token: f.tenant.status.address,
  id: STATUS_ID,
  amount,
});

/** Open from the latest block for a day, SUPPLY units, no status required. */
async function offerConfig(f: Fixture, overrides: Partial<OfferConfig> = {}): Promise<OfferConfig> {
  const start = await now(f);
  return { start, end: start + DAY, supply: SUPPLY, statusToken: zeroAddress, statusId: 0n, ...overrides };
}

type OfferParameters = { config?: OfferConfig; costs?: TokenAmount[]; payouts?: TokenAmount[]; businesses?: Address[] };

/** Creates an offer (by default PRICE points for one voucher, honoured anywhere) and returns its id. */
async function createOffer(f: Fixture, { config, costs, payouts, businesses = [] }: OfferParameters = {}) {
  const hash = await f.tenant.redemptions.write.createOffer([
    config ?? (await offerConfig(f)),
    costs ?? [pointsAmount(f, PRICE)],
    payouts ?? [rewardAmount(f, VOUCHER_ID, 1n)],
    businesses,
  ]);
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  const [created] = parseEventLogs({ abi: redemptionRegistryAbi, eventName: "OfferCreated", logs: receipt.logs });
  return created!.args.offerId;
}

/** The OfferBusinessSet events of a transaction, as [business, honoured] pairs. */
async function businessEvents(f: Fixture, hash: Hash) {
  const receipt = await f.publicClient.waitForTransactionReceipt({ hash });
  return parseEventLogs({ abi: redemptionRegistryAbi, eventName: "OfferBusinessSet", logs: receipt.logs }).map(
    ({ args }) => [args.business, args.honoured] as const,
  );
}

/** What `holder` holds of every token the test offers touch, and those tokens' total supplies. */
async function holdings(f: Fixture, holder: Address) {
  const { points, reward, status } = f.tenant;
  return {
    points: await points.read.balanceOf([holder]),
    pointsSupply: await points.read.totalSupply(),
    rewards: await reward.read.balanceOf([holder, REWARD_ID]),
    rewardsSupply: await reward.read.totalSupply([REWARD_ID]),
    vouchers: await reward.read.balanceOf([holder, VOUCHER_ID]),
    vouchersSupply: await reward.read.totalSupply([VOUCHER_ID]),
    status: await status.read.balanceOf([holder, STATUS_ID]),
    statusSupply: await status.read.totalSupply([STATUS_ID]),
  };
}

describe("RedemptionRegistry", () => {
  describe("createOffer", () => {
    it("creates active offers with ids counting up from 1 and returns the id", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const config = await offerConfig(f);
      const args = [config, [pointsAmount(f, PRICE)], [rewardAmount(f, VOUCHER_ID, 1n)], []] as const;

      assert.equal(await redemptions.read.offerCount(), 0n);
      assert.equal((await redemptions.simulate.createOffer(args)).result, 1n);
      assert.equal(await createOffer(f), 1n);
      assert.equal(await createOffer(f), 2n);
      assert.equal(await redemptions.read.offerCount(), 2n);
      assert.equal((await redemptions.read.getOffer([2n])).status, OfferStatus.ACTIVE);
    });

    it("stores and emits costs in points and reward ids, payouts in rewards and status, and the businesses", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, status } = f.tenant;
      const { business, bob, alice } = f.accounts;
      const config = await offerConfig(f, { supply: 25n, statusToken: status.address, statusId: STATUS_ID });
      const costs = [pointsAmount(f, PRICE), rewardAmount(f, REWARD_ID, 2n)];
      const payouts = [rewardAmount(f, VOUCHER_ID, 1n), statusAmount(f, 3n)];
      const businesses = [getAddress(business.account.address), getAddress(bob.account.address)];

      const hash = await redemptions.write.createOffer([config, costs, payouts, businesses]);

      await viem.assertions.emitWithArgs(hash, redemptions, "OfferCreated", [1n, config, costs, payouts]);
      assert.deepEqual(await businessEvents(f, hash), [
        [businesses[0], true],
        [businesses[1], true],
      ]);
      assert.deepEqual(await redemptions.read.getOffer([1n]), {
        start: config.start,
        end: config.end,
        status: OfferStatus.ACTIVE,
        costCount: 2,
        payoutCount: 2,
        businessCount: 2,
        supplyLeft: 25n,
        redeemed: 0n,
      });
      assert.deepEqual(await redemptions.read.getCosts([1n]), costs);
      assert.deepEqual(await redemptions.read.getPayouts([1n]), payouts);
      assert.deepEqual(await redemptions.read.getOfferStatusRequirement([1n]), [status.address, STATUS_ID]);
      assert.equal(await redemptions.read.isHonouredBy([1n, business.account.address]), true);
      assert.equal(await redemptions.read.isHonouredBy([1n, bob.account.address]), true);
      assert.equal(await redemptions.read.isHonouredBy([1n, alice.account.address]), false);
    });

    it("allows an offer with no payouts (an off-chain good)", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const offerId = await createOffer(f, { payouts: [] });

      assert.equal((await f.tenant.redemptions.read.getOffer([offerId])).payoutCount, 0);
      assert.deepEqual(await f.tenant.redemptions.read.getPayouts([offerId]), []);
      assert.deepEqual(await f.tenant.redemptions.read.getCosts([offerId]), [pointsAmount(f, PRICE)]);
    });

    it("counts a business named twice once", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const business = getAddress(f.accounts.business.account.address);
      const hash = await f.tenant.redemptions.write.createOffer([
        await offerConfig(f),
        [pointsAmount(f, PRICE)],
        [],
        [business, business],
      ]);

      assert.deepEqual(await businessEvents(f, hash), [[business, true]]);
      assert.equal((await f.tenant.redemptions.read.getOffer([1n])).businessCount, 1);
    });

    it("accepts MAX_ITEMS costs and payouts and amounts up to uint88 max", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const max = Number(await f.tenant.redemptions.read.MAX_ITEMS());
      const costs = Array.from({ length: max }, () => pointsAmount(f, maxUint88));
      const payouts = Array.from({ length: max }, () => rewardAmount(f, VOUCHER_ID, maxUint88));

      const offerId = await createOffer(f, { costs, payouts });

      const offer = await f.tenant.redemptions.read.getOffer([offerId]);
      assert.equal(offer.costCount, max);
      assert.equal(offer.payoutCount, max);
      assert.deepEqual(await f.tenant.redemptions.read.getCosts([offerId]), costs);
      assert.deepEqual(await f.tenant.redemptions.read.getPayouts([offerId]), payouts);
    });

    it("reverts with RedemptionInvalidWindow unless the end is after the start", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const start = (await now(f)) + 100;

      for (const end of [start, start - 1]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer([await offerConfig(f, { start, end }), [pointsAmount(f, PRICE)], [], []]),
          redemptions,
          "RedemptionInvalidWindow",
          [start, end],
        );
      }
    });

    it("reverts with RedemptionInvalidCostCount for no costs and for more than MAX_ITEMS", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const max = await redemptions.read.MAX_ITEMS();
      const config = await offerConfig(f);

      for (const count of [0n, max + 1n]) {
        const costs = Array.from({ length: Number(count) }, () => pointsAmount(f, PRICE));
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer([config, costs, [], []]),
          redemptions,
          "RedemptionInvalidCostCount",
          [count, max],
        );
      }
    });

    it("reverts with RedemptionInvalidPayoutCount for more than MAX_ITEMS payouts", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const max = await redemptions.read.MAX_ITEMS();
      const payouts = Array.from({ length: Number(max) + 1 }, () => rewardAmount(f, VOUCHER_ID, 1n));

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.createOffer([await offerConfig(f), [pointsAmount(f, PRICE)], payouts, []]),
        redemptions,
        "RedemptionInvalidPayoutCount",
        [max + 1n, max],
      );
    });

    it("reverts with RedemptionInvalidAmount for a zero or too large amount, a points id other than 0 or an undefined class", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, points, reward } = f.tenant;
      const config = await offerConfig(f);
      const invalidCosts: TokenAmount[] = [
        pointsAmount(f, 0n),
        pointsAmount(f, maxUint88 + 1n),
        { token: points.address, id: 1n, amount: PRICE },
        rewardAmount(f, 99n, 1n),
      ];

      for (const cost of invalidCosts) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer([config, [cost], [], []]),
          redemptions,
          "RedemptionInvalidAmount",
          [cost.token, cost.id, cost.amount],
        );
      }
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.createOffer([config, [pointsAmount(f, PRICE)], [rewardAmount(f, VOUCHER_ID, 0n)], []]),
        redemptions,
        "RedemptionInvalidAmount",
        [reward.address, VOUCHER_ID, 0n],
      );
    });

    it("reverts with RedemptionCostNotBurnable for an EOA, a tenant contract that is no token, and another tenant's points", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, campaigns } = f.tenant;
      const config = await offerConfig(f);
      const foreign = [f.accounts.outsider.account.address, campaigns.address, f.otherTenant.points.address];

      for (const token of foreign) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer([config, [{ token, id: 0n, amount: PRICE }], [], []]),
          redemptions,
          "RedemptionCostNotBurnable",
          [token],
        );
      }
    });

    it("reverts with RedemptionPayoutNotMintable for points, an EOA and another tenant's reward token", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const config = await offerConfig(f);
      const unmintable = [
        pointsAmount(f, 1n),
        { token: f.accounts.outsider.account.address, id: REWARD_ID, amount: 1n },
        { token: f.otherTenant.reward.address, id: REWARD_ID, amount: 1n },
      ];

      for (const payout of unmintable) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer([config, [pointsAmount(f, PRICE)], [payout], []]),
          redemptions,
          "RedemptionPayoutNotMintable",
          [payout.token],
        );
      }
    });

    it("reverts with RedemptionInvalidStatusToken for a reward token, an EOA or another tenant's status token", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, reward } = f.tenant;

      const foreign = [reward.address, f.accounts.outsider.account.address, f.otherTenant.status.address];
      for (const statusToken of foreign) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer([
            await offerConfig(f, { statusToken, statusId: STATUS_ID }),
            [pointsAmount(f, PRICE)],
            [],
            [],
          ]),
          redemptions,
          "RedemptionInvalidStatusToken",
          [statusToken, STATUS_ID],
        );
      }
    });

    it("reverts with RedemptionInvalidStatusToken for an undefined status class", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, status } = f.tenant;
      const undefinedId = STATUS_ID + 1n;

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.createOffer([
          await offerConfig(f, { statusToken: status.address, statusId: undefinedId }),
          [pointsAmount(f, PRICE)],
          [],
          [],
        ]),
        redemptions,
        "RedemptionInvalidStatusToken",
        [status.address, undefinedId],
      );
    });

    it("reverts with RedemptionInvalidBusiness for the zero address among the businesses", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.createOffer([
          await offerConfig(f),
          [pointsAmount(f, PRICE)],
          [],
          [f.accounts.business.account.address, zeroAddress],
        ]),
        redemptions,
        "RedemptionInvalidBusiness",
        [zeroAddress],
      );
      assert.equal(await redemptions.read.offerCount(), 0n);
    });

    it("reverts with AccessControlUnauthorizedAccount for an outsider and for the tenant admin, who is no campaign manager", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const { outsider, tenantAdmin } = f.accounts;
      const managerRole = await redemptions.read.CAMPAIGN_MANAGER_ROLE();
      const adminRole = await redemptions.read.DEFAULT_ADMIN_ROLE();
      assert.equal(await redemptions.read.hasRole([adminRole, tenantAdmin.account.address]), true);
      const args = [await offerConfig(f), [pointsAmount(f, PRICE)], [], []] as const;

      for (const caller of [outsider, tenantAdmin]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.createOffer(args, { account: caller.account }),
          redemptions,
          "AccessControlUnauthorizedAccount",
          [caller.account.address, managerRole],
        );
      }
    });
  });

  describe("updateOffer", () => {
    it("changes the window, the supply left and the status requirement, and emits OfferUpdated", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, status } = f.tenant;
      const offerId = await createOffer(f);
      await redemptions.write.redeem([offerId, 3n, zeroAddress], { account: f.accounts.alice.account });
      const start = (await now(f)) + DAY;
      const config = await offerConfig(f, {
        start,
        end: start + 2 * DAY,
        supply: 5n,
        statusToken: status.address,
        statusId: STATUS_ID,
      });

      await viem.assertions.emitWithArgs(
        redemptions.write.updateOffer([offerId, config]),
        redemptions,
        "OfferUpdated",
        [offerId, config],
      );
      assert.deepEqual(await redemptions.read.getOffer([offerId]), {
        start,
        end: start + 2 * DAY,
        status: OfferStatus.ACTIVE,
        costCount: 1,
        payoutCount: 1,
        businessCount: 0,
        supplyLeft: 5n,
        redeemed: 3n,
      });
      assert.deepEqual(await redemptions.read.getOfferStatusRequirement([offerId]), [status.address, STATUS_ID]);
    });

    it("applies a new window to redemptions", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);
      const start = (await now(f)) + DAY;
      await redemptions.write.updateOffer([offerId, await offerConfig(f, { start, end: start + DAY })]);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: f.accounts.alice.account }),
        redemptions,
        "RedemptionOfferNotStarted",
        [offerId, start],
      );
    });

    it("applies a new supply to redemptions", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);
      await redemptions.write.updateOffer([offerId, await offerConfig(f, { supply: 1n })]);
      const alice = f.accounts.alice.account;

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 2n, zeroAddress], { account: alice }),
        redemptions,
        "RedemptionSupplyExhausted",
        [offerId, 1n, 2n],
      );
      await redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice });
      assert.equal((await redemptions.read.getOffer([offerId])).supplyLeft, 0n);
    });

    it("checks the new config as createOffer does", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, reward } = f.tenant;
      const offerId = await createOffer(f);
      const start = await now(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.updateOffer([offerId, await offerConfig(f, { start, end: start })]),
        redemptions,
        "RedemptionInvalidWindow",
        [start, start],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.updateOffer([offerId, await offerConfig(f, { statusToken: reward.address })]),
        redemptions,
        "RedemptionInvalidStatusToken",
        [reward.address, 0n],
      );
    });

    it("reverts with RedemptionOfferIsClosed for a closed offer and RedemptionOfferNotFound for an unknown one", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);
      await redemptions.write.closeOffer([offerId]);
      const config = await offerConfig(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.updateOffer([offerId, config]),
        redemptions,
        "RedemptionOfferIsClosed",
        [offerId],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.updateOffer([2n, config]),
        redemptions,
        "RedemptionOfferNotFound",
        [2n],
      );
    });
  });

  describe("pauseOffer, resumeOffer, closeOffer", () => {
    it("pauses an active offer, which then cannot be redeemed nor paused again", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);

      await viem.assertions.emitWithArgs(redemptions.write.pauseOffer([offerId]), redemptions, "OfferPaused", [
        offerId,
      ]);
      assert.equal((await redemptions.read.getOffer([offerId])).status, OfferStatus.PAUSED);
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: f.accounts.alice.account }),
        redemptions,
        "RedemptionOfferNotActive",
        [offerId, OfferStatus.PAUSED],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.pauseOffer([offerId]),
        redemptions,
        "RedemptionOfferNotActive",
        [offerId, OfferStatus.PAUSED],
      );
    });

    it("resumes a paused offer, which can then be redeemed, and refuses to resume an active one", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.resumeOffer([offerId]),
        redemptions,
        "RedemptionOfferNotPaused",
        [offerId, OfferStatus.ACTIVE],
      );
      await redemptions.write.pauseOffer([offerId]);
      await viem.assertions.emitWithArgs(redemptions.write.resumeOffer([offerId]), redemptions, "OfferResumed", [
        offerId,
      ]);
      assert.equal((await redemptions.read.getOffer([offerId])).status, OfferStatus.ACTIVE);
      await redemptions.write.redeem([offerId, 1n, zeroAddress], { account: f.accounts.alice.account });
      assert.equal((await redemptions.read.getOffer([offerId])).redeemed, 1n);
    });

    it("closes an offer for good: no redemption and no further change", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);
      await redemptions.write.pauseOffer([offerId]);

      await viem.assertions.emitWithArgs(redemptions.write.closeOffer([offerId]), redemptions, "OfferClosed", [
        offerId,
      ]);
      assert.equal((await redemptions.read.getOffer([offerId])).status, OfferStatus.CLOSED);
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: f.accounts.alice.account }),
        redemptions,
        "RedemptionOfferNotActive",
        [offerId, OfferStatus.CLOSED],
      );
      for (const change of [
        () => redemptions.write.pauseOffer([offerId]),
        () => redemptions.write.resumeOffer([offerId]),
        () => redemptions.write.closeOffer([offerId]),
        () => redemptions.write.setOfferBusiness([offerId, f.accounts.business.account.address, true]),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(change(), redemptions, "RedemptionOfferIsClosed", [
          offerId,
        ]);
      }
    });

    it("reverts with RedemptionOfferNotFound for an unknown offer", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      await createOffer(f);

      for (const change of [
        () => redemptions.write.pauseOffer([2n]),
        () => redemptions.write.resumeOffer([2n]),
        () => redemptions.write.closeOffer([2n]),
        () => redemptions.write.setOfferBusiness([2n, f.accounts.business.account.address, true]),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(change(), redemptions, "RedemptionOfferNotFound", [2n]);
      }
    });

    it("lets only a campaign manager update, pause, resume, close or set businesses", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);
      const managerRole = await redemptions.read.CAMPAIGN_MANAGER_ROLE();
      const { outsider, tenantAdmin } = f.accounts;
      const config = await offerConfig(f);

      for (const caller of [outsider, tenantAdmin]) {
        const account = caller.account;
        for (const change of [
          () => redemptions.write.updateOffer([offerId, config], { account }),
          () => redemptions.write.pauseOffer([offerId], { account }),
          () => redemptions.write.resumeOffer([offerId], { account }),
          () => redemptions.write.closeOffer([offerId], { account }),
          () => redemptions.write.setOfferBusiness([offerId, f.accounts.business.account.address, true], { account }),
        ]) {
          await viem.assertions.revertWithCustomErrorWithArgs(
            change(),
            redemptions,
            "AccessControlUnauthorizedAccount",
            [account.address, managerRole],
          );
        }
      }
    });
  });

  describe("setOfferBusiness", () => {
    it("adds and removes businesses, emitting OfferBusinessSet and counting them only on a change", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const business = getAddress(f.accounts.business.account.address);
      const offerId = await createOffer(f);
      const businessCount = async () => (await redemptions.read.getOffer([offerId])).businessCount;

      const added = await redemptions.write.setOfferBusiness([offerId, business, true]);
      assert.deepEqual(await businessEvents(f, added), [[business, true]]);
      assert.equal(await redemptions.read.isHonouredBy([offerId, business]), true);
      assert.equal(await businessCount(), 1);

      assert.deepEqual(
        await businessEvents(f, await redemptions.write.setOfferBusiness([offerId, business, true])),
        [],
      );
      assert.equal(await businessCount(), 1);

      const removed = await redemptions.write.setOfferBusiness([offerId, business, false]);
      assert.deepEqual(await businessEvents(f, removed), [[business, false]]);
      assert.equal(await redemptions.read.isHonouredBy([offerId, business]), false);
      assert.equal(await businessCount(), 0);

      assert.deepEqual(
        await businessEvents(f, await redemptions.write.setOfferBusiness([offerId, business, false])),
        [],
      );
      assert.equal(await businessCount(), 0);
    });

    it("reverts with RedemptionInvalidBusiness for the zero address", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.setOfferBusiness([offerId, zeroAddress, true]),
        redemptions,
        "RedemptionInvalidBusiness",
        [zeroAddress],
      );
    });

    it("makes an offer honoured anywhere again once its last business is removed", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const business = f.accounts.business.account.address;
      const elsewhere = f.accounts.bob.account.address;
      const offerId = await createOffer(f, { businesses: [business] });
      await redemptions.write.setOfferBusiness([offerId, business, false]);

      await viem.assertions.emitWithArgs(
        redemptions.write.redeem([offerId, 1n, elsewhere], { account: f.accounts.alice.account }),
        redemptions,
        "Redeemed",
        [1n, offerId, f.accounts.alice.account.address, 1n, elsewhere],
      );
    });
  });

  describe("redeem", () => {
    it("burns quantity times every cost and mints quantity times every payout", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const alice = f.accounts.alice.account;
      const offerId = await createOffer(f, {
        costs: [pointsAmount(f, PRICE), rewardAmount(f, REWARD_ID, 2n)],
        payouts: [rewardAmount(f, VOUCHER_ID, 1n), statusAmount(f, 1n)],
      });
      const before = await holdings(f, alice.address);

      assert.equal(
        (await redemptions.simulate.redeem([offerId, 3n, zeroAddress], { account: alice.address })).result,
        1n,
      );
      await viem.assertions.emitWithArgs(
        redemptions.write.redeem([offerId, 3n, zeroAddress], { account: alice }),
        redemptions,
        "Redeemed",
        [1n, offerId, alice.address, 3n, zeroAddress],
      );

      assert.deepEqual(await holdings(f, alice.address), {
        points: before.points - 3n * PRICE,
        pointsSupply: before.pointsSupply - 3n * PRICE,
        rewards: before.rewards - 6n,
        rewardsSupply: before.rewardsSupply - 6n,
        vouchers: before.vouchers + 3n,
        vouchersSupply: before.vouchersSupply + 3n,
        status: before.status + 3n,
        statusSupply: before.statusSupply + 3n,
      });
      const offer = await redemptions.read.getOffer([offerId]);
      assert.equal(offer.supplyLeft, SUPPLY - 3n);
      assert.equal(offer.redeemed, 3n);
      assert.equal(await redemptions.read.redemptionCount(), 1n);
    });

    it("numbers redemptions from 1 across holders and offers", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const { alice, bob } = f.accounts;
      const first = await createOffer(f);
      const second = await createOffer(f);

      await redemptions.write.redeem([first, 1n, zeroAddress], { account: alice.account });
      await viem.assertions.emitWithArgs(
        redemptions.write.redeem([second, 2n, zeroAddress], { account: bob.account }),
        redemptions,
        "Redeemed",
        [2n, second, bob.account.address, 2n, zeroAddress],
      );
      assert.equal(await redemptions.read.redemptionCount(), 2n);
      assert.equal(await f.tenant.points.read.balanceOf([bob.account.address]), BOB_POINTS - 2n * PRICE);
    });

    it("burns the cost of an offer with no payouts and mints nothing", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const alice = f.accounts.alice.account;
      const offerId = await createOffer(f, { payouts: [] });
      const before = await holdings(f, alice.address);

      await f.tenant.redemptions.write.redeem([offerId, 2n, zeroAddress], { account: alice });

      assert.deepEqual(await holdings(f, alice.address), {
        ...before,
        points: before.points - 2n * PRICE,
        pointsSupply: before.pointsSupply - 2n * PRICE,
      });
    });

    it("is redeemable from the first second of the window to the last", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const alice = f.accounts.alice.account;
      const start = (await now(f)) + DAY;
      const offerId = await createOffer(f, { config: await offerConfig(f, { start, end: start + DAY }) });

      await networkHelpers.time.setNextBlockTimestamp(start);
      await redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice });
      await networkHelpers.time.setNextBlockTimestamp(start + DAY - 1);
      await redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice });

      assert.equal((await redemptions.read.getOffer([offerId])).redeemed, 2n);
    });

    it("reverts with RedemptionOfferNotStarted before the start and RedemptionOfferEnded from the end second on", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const alice = f.accounts.alice.account;
      const start = (await now(f)) + DAY;
      const end = start + DAY;
      const offerId = await createOffer(f, { config: await offerConfig(f, { start, end }) });

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice }),
        redemptions,
        "RedemptionOfferNotStarted",
        [offerId, start],
      );
      await networkHelpers.time.setNextBlockTimestamp(end);
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice }),
        redemptions,
        "RedemptionOfferEnded",
        [offerId, end],
      );
    });

    it("reverts with RedemptionOfferNotFound for an unknown offer", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      await createOffer(f);

      for (const offerId of [0n, 2n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.redeem([offerId, 1n, zeroAddress], { account: f.accounts.alice.account }),
          redemptions,
          "RedemptionOfferNotFound",
          [offerId],
        );
      }
    });

    it("reverts with RedemptionInvalidQuantity for a quantity of 0", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const offerId = await createOffer(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 0n, zeroAddress], { account: f.accounts.alice.account }),
        redemptions,
        "RedemptionInvalidQuantity",
        [0n],
      );
    });

    it("reverts with RedemptionSupplyExhausted when the quantity exceeds the supply left", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const alice = f.accounts.alice.account;
      const offerId = await createOffer(f, { config: await offerConfig(f, { supply: 2n }) });

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 3n, zeroAddress], { account: alice }),
        redemptions,
        "RedemptionSupplyExhausted",
        [offerId, 2n, 3n],
      );
      await redemptions.write.redeem([offerId, 2n, zeroAddress], { account: alice });
      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice }),
        redemptions,
        "RedemptionSupplyExhausted",
        [offerId, 0n, 1n],
      );
    });

    it("accepts only a business that honours an offer that names businesses", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const alice = f.accounts.alice.account;
      const business = f.accounts.business.account.address;
      const offerId = await createOffer(f, { businesses: [business] });

      for (const elsewhere of [f.accounts.bob.account.address, zeroAddress]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          redemptions.write.redeem([offerId, 1n, elsewhere], { account: alice }),
          redemptions,
          "RedemptionBusinessNotHonouring",
          [offerId, elsewhere],
        );
      }
      await viem.assertions.emitWithArgs(
        redemptions.write.redeem([offerId, 1n, business], { account: alice }),
        redemptions,
        "Redeemed",
        [1n, offerId, alice.address, 1n, business],
      );
    });

    it("accepts any business when the offer names none", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions } = f.tenant;
      const alice = f.accounts.alice.account;
      const anywhere = f.accounts.outsider.account.address;
      const offerId = await createOffer(f);

      await viem.assertions.emitWithArgs(
        redemptions.write.redeem([offerId, 1n, anywhere], { account: alice }),
        redemptions,
        "Redeemed",
        [1n, offerId, alice.address, 1n, anywhere],
      );
    });

    it("reverts with RedemptionStatusRequired until the holder is issued the status", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, status } = f.tenant;
      const alice = f.accounts.alice.account;
      const offerId = await createOffer(f, {
        config: await offerConfig(f, { statusToken: status.address, statusId: STATUS_ID }),
      });

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice }),
        redemptions,
        "RedemptionStatusRequired",
        [offerId, status.address, STATUS_ID],
      );
      await status.write.issue([alice.address, STATUS_ID, 1n, IssueReason.GRANT, asHex("alice-gold")]);
      await viem.assertions.emitWithArgs(
        redemptions.write.redeem([offerId, 1n, zeroAddress], { account: alice }),
        redemptions,
        "Redeemed",
        [1n, offerId, alice.address, 1n, zeroAddress],
      );
    });

    it("pays nothing when the holder lacks the points: ERC20InsufficientBalance, earlier costs kept", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, points } = f.tenant;
      const alice = f.accounts.alice.account;
      // The reward cost is burned before the points cost fails: its burn must be undone too.
      const offerId = await createOffer(f, {
        costs: [rewardAmount(f, REWARD_ID, 1n), pointsAmount(f, 600n)],
        payouts: [rewardAmount(f, VOUCHER_ID, 1n), statusAmount(f, 1n)],
      });
      const before = await holdings(f, alice.address);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 2n, zeroAddress], { account: alice }),
        points,
        "ERC20InsufficientBalance",
        [alice.address, ALICE_POINTS, 1200n],
      );

      assert.deepEqual(await holdings(f, alice.address), before);
      const offer = await redemptions.read.getOffer([offerId]);
      assert.equal(offer.supplyLeft, SUPPLY);
      assert.equal(offer.redeemed, 0n);
      assert.equal(await redemptions.read.redemptionCount(), 0n);
    });

    it("pays nothing when the holder lacks the reward cost: ERC1155InsufficientBalance", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, reward } = f.tenant;
      const alice = f.accounts.alice.account;
      const offerId = await createOffer(f, { costs: [pointsAmount(f, PRICE), rewardAmount(f, REWARD_ID, 4n)] });
      const before = await holdings(f, alice.address);

      await viem.assertions.revertWithCustomErrorWithArgs(
        redemptions.write.redeem([offerId, 3n, zeroAddress], { account: alice }),
        reward,
        "ERC1155InsufficientBalance",
        [alice.address, ALICE_REWARDS, 12n, REWARD_ID],
      );

      assert.deepEqual(await holdings(f, alice.address), before);
      assert.equal((await redemptions.read.getOffer([offerId])).supplyLeft, SUPPLY);
    });
  });

  describe("redeem through the ERC-2771 forwarder", () => {
    it("burns the signer's points and pays the signer, not the relayer", async () => {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const { redemptions, points } = f.tenant;
      const { alice, outsider: relayer } = f.accounts;
      await points.write.issue([relayer.account.address, 500n, IssueReason.GRANT, asHex("relayer-points")]);
      const offerId = await createOffer(f);
      const aliceBefore = await holdings(f, alice.account.address);
      const relayerBefore = await holdings(f, relayer.account.address);
      const request = await signForwardRequest({
        publicClient: f.publicClient,
        signer: alice,
        forwarder: f.forwarder.address,
        to: redemptions.address,
        data: encodeFunctionData({
          abi: redemptionRegistryAbi,
          functionName: "redeem",
          args: [offerId, 2n, zeroAddress],
        }),
        gas: 300_000n,
        deadline: (await now(f)) + 3600,
      });

      await viem.assertions.emitWithArgs(
        f.forwarder.write.execute([request], { account: relayer.account }),
        redemptions,
        "Redeemed",
        [1n, offerId, alice.account.address, 2n, zeroAddress],
      );

      assert.deepEqual(await holdings(f, alice.account.address), {
        ...aliceBefore,
        points: aliceBefore.points - 2n * PRICE,
        pointsSupply: aliceBefore.pointsSupply - 2n * PRICE,
        vouchers: aliceBefore.vouchers + 2n,
        vouchersSupply: aliceBefore.vouchersSupply + 2n,
      });
      const relayerAfter = await holdings(f, relayer.account.address);
      assert.equal(relayerAfter.points, relayerBefore.points);
      assert.equal(relayerAfter.vouchers, 0n);
    });
  });

  describe("reentrancy", () => {
    async function redeemerFixture() {
      const f = await networkHelpers.loadFixture(redemptionFixture);
      const redeemer = await viem.deployContract("ReentrantRedeemer", [f.tenant.redemptions.address]);
      await f.tenant.points.write.issue([redeemer.address, 4n * PRICE, IssueReason.GRANT, asHex("redeemer-points")]);
      return { f, redeemer, offerId: await createOffer(f) };
    }

    it("pays a contract holder that accepts the payout without re-entering", async () => {
      const { f, redeemer, offerId } = await redeemerFixture();

      await redeemer.write.redeem([offerId, 1n]);

      assert.equal(await f.tenant.points.read.balanceOf([redeemer.address]), 3n * PRICE);
      assert.equal(await f.tenant.reward.read.balanceOf([redeemer.address, VOUCHER_ID]), 1n);
      assert.equal(await f.tenant.redemptions.read.redemptionCount(), 1n);
    });

    it("reverts with ReentrancyGuardReentrantCall when the payout's receiver redeems again, paying nothing", async () => {
      const { f, redeemer, offerId } = await redeemerFixture();
      const { redemptions } = f.tenant;
      await redeemer.write.setReenter([true]);
      const before = await holdings(f, redeemer.address);

      await viem.assertions.revertWithCustomError(
        redeemer.write.redeem([offerId, 1n]),
        redemptions,
        "ReentrancyGuardReentrantCall",
      );

      assert.deepEqual(await holdings(f, redeemer.address), before);
      assert.equal(before.points, 4n * PRICE);
      assert.equal(before.vouchers, 0n);
      assert.equal((await redemptions.read.getOffer([offerId])).supplyLeft, SUPPLY);
      assert.equal(await redemptions.read.redemptionCount(), 0n);
    });
  });
});
