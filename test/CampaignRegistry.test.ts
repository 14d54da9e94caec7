// CampaignRegistry: campaigns (create, update, pause, resume, close, engagements) and every way a
// claim pays (claim, claimBatch, claimWithVoucher), with each rule's exact error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import {
  getAddress,
  hashTypedData,
  isAddressEqual,
  maxUint88,
  parseEventLogs,
  recoverTypedDataAddress,
  toFunctionSelector,
  zeroAddress,
  type Address,
  type ContractErrorName,
  type Hash,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { campaignRegistryAbi } from "../abi/campaignRegistry.ts";
import { CampaignStatus, ClaimSource } from "../abi/enums.ts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { rewardTokenAbi } from "../abi/rewardToken.ts";
import {
  CAMPAIGN_REGISTRY_DOMAIN_NAME,
  claimVoucherTypes,
  signClaimVoucher,
  type ClaimVoucher,
} from "../deploy/signatures.ts";
import {
  addTenant,
  claimRequest,
  createPointsCampaign,
  DAY,
  now,
  REWARD_ID,
  STATUS_ID,
  tenantFixture,
  type Tenant,
  type TenantFixture,
} from "./helpers/fixtures.ts";

const { viem, networkHelpers } = await network.create();

const fixture = () => tenantFixture(viem);
/** A second tenant created by the same platform, with the same admin and operator. */
const twoTenantsFixture = async () => {
  const f = await tenantFixture(viem);
  return { ...f, tenantB: await addTenant(f, "tenant-b") };
};

type Payout = { token: Address; id: bigint; amount: bigint };
type Config = { start: number; end: number; perUserLimit: number; budget: bigint };
type Request = ReturnType<typeof claimRequest>;
type Signer = TenantFixture["accounts"]["platform"];

const pointsPayout = (tenant: Tenant, amount = 100n): Payout => ({
  token: getAddress(tenant.points.address),
  id: 0n,
  amount,
});
const rewardPayout = (tenant: Tenant, amount = 2n): Payout => ({
  token: getAddress(tenant.reward.address),
  id: REWARD_ID,
  amount,
});
const statusPayout = (tenant: Tenant, amount = 1n): Payout => ({
  token: getAddress(tenant.status.address),
  id: STATUS_ID,
  amount,
});

async function mined(f: TenantFixture, hash: Hash | Promise<Hash>): Promise<TransactionReceipt> {
  return f.publicClient.waitForTransactionReceipt({ hash: await hash });
}

/** A config open from the next block for a day, limit 1, budget 1000, with `overrides`. */
async function configOf(f: TenantFixture, overrides: Partial<Config> = {}): Promise<Config> {
  const start = overrides.start ?? (await now(f));
  return { start, end: start + DAY, perUserLimit: 1, budget: 1000n, ...overrides };
}

async function createCampaign(
  f: TenantFixture,
  payouts: Payout[],
  overrides: Partial<Config> = {},
  tenant: Tenant = f.tenant,
): Promise<bigint> {
  const receipt = await mined(f, tenant.campaigns.write.createCampaign([await configOf(f, overrides), payouts]));
  const [created] = parseEventLogs({ abi: campaignRegistryAbi, eventName: "CampaignCreated", logs: receipt.logs });
  return created!.args.campaignId;
}

/** The 4-byte selector of a CampaignRegistry error, from the ABI. */
function selectorOf(name: ContractErrorName<typeof campaignRegistryAbi>): Hex {
  const item = campaignRegistryAbi.find((entry) => entry.type === "error" && entry.name === name);
  assert.ok(item?.type === "error", `${name} is an error of the ABI`);
  // Every CampaignRegistry error has elementary parameters, so the signature is their types.
  return toFunctionSelector(`${name}(${item.inputs.map((input) => input.type).join(",")})`);
}

const pointsOf = (tenant: Tenant, holder: Address) => tenant.points.read.balanceOf([holder]);
const rewardOf = (tenant: Tenant, holder: Address) => tenant.reward.read.balanceOf([holder, REWARD_ID]);
const statusOf = (tenant: Tenant, holder: Address) => tenant.status.read.balanceOf([holder, STATUS_ID]);

function registryEvents<const E extends "Claimed" | "ClaimSkipped" | "CampaignBudgetSpent">(
  receipt: TransactionReceipt,
  registry: Address,
  eventName: E,
) {
  return parseEventLogs({
    abi: campaignRegistryAbi,
    eventName,
    logs: receipt.logs.filter((log) => isAddressEqual(log.address, registry)),
  });
}

function pointsTransfers(receipt: TransactionReceipt, token: Address) {
  return parseEventLogs({
    abi: pointsTokenAbi,
    eventName: "Transfer",
    logs: receipt.logs.filter((log) => isAddressEqual(log.address, token)),
  });
}

describe("CampaignRegistry", () => {
  describe("createCampaign", () => {
    it("numbers campaigns from 1 and stores their config and payouts", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const config = await configOf(f, { perUserLimit: 3, budget: 50n });
      const payouts = [pointsPayout(f.tenant, 250n)];

      assert.equal(await campaigns.read.campaignCount(), 0n);
      const { result } = await campaigns.simulate.createCampaign([config, payouts]);
      assert.equal(result, 1n);
      await viem.assertions.emitWithArgs(
        campaigns.write.createCampaign([config, payouts]),
        campaigns,
        "CampaignCreated",
        [1n, config, payouts],
      );
      assert.equal(await campaigns.read.campaignCount(), 1n);
      assert.deepEqual(await campaigns.read.getCampaign([1n]), {
        start: config.start,
        end: config.end,
        status: CampaignStatus.ACTIVE,
        payoutCount: 1,
        perUserLimit: 3,
        budget: 50n,
        claimed: 0n,
      });
      assert.deepEqual(await campaigns.read.getPayouts([1n]), payouts);

      const second = await createCampaign(f, [rewardPayout(f.tenant)]);
      assert.equal(second, 2n);
      assert.equal(await campaigns.read.campaignCount(), 2n);
      assert.deepEqual(await campaigns.read.getPayouts([2n]), [rewardPayout(f.tenant)]);
    });

    it("stores points, reward and status payouts together, in order", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const config = await configOf(f);
      const payouts = [pointsPayout(f.tenant, 10n), rewardPayout(f.tenant, 3n), statusPayout(f.tenant, 1n)];

      await viem.assertions.emitWithArgs(
        campaigns.write.createCampaign([config, payouts]),
        campaigns,
        "CampaignCreated",
        [1n, config, payouts],
      );
      assert.equal((await campaigns.read.getCampaign([1n])).payoutCount, 3);
      assert.deepEqual(await campaigns.read.getPayouts([1n]), payouts);
    });

    it("reverts with CampaignInvalidWindow unless end is after start", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const start = (await now(f)) + 100;
      const payouts = [pointsPayout(f.tenant)];

      for (const end of [start, start - 1]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.createCampaign([await configOf(f, { start, end }), payouts]),
          campaigns,
          "CampaignInvalidWindow",
          [start, end],
        );
      }
    });

    it("reverts with CampaignInvalidPayoutCount for no payouts and for more than MAX_PAYOUTS", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const max = await campaigns.read.MAX_PAYOUTS();
      const config = await configOf(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.createCampaign([config, []]),
        campaigns,
        "CampaignInvalidPayoutCount",
        [0n, max],
      );
      const tooMany = Array.from({ length: Number(max) + 1 }, () => pointsPayout(f.tenant));
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.createCampaign([config, tooMany]),
        campaigns,
        "CampaignInvalidPayoutCount",
        [max + 1n, max],
      );
    });

    it("reverts with CampaignInvalidPayout for a zero amount, an amount above uint88, a points id and an undefined class", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const config = await configOf(f);
      const points = getAddress(f.tenant.points.address);
      const invalid: Payout[] = [
        { token: points, id: 0n, amount: 0n },
        { token: points, id: 0n, amount: maxUint88 + 1n },
        { token: points, id: 1n, amount: 100n },
        { ...rewardPayout(f.tenant), id: REWARD_ID + 1n },
        { ...statusPayout(f.tenant), id: STATUS_ID + 1n },
        { ...rewardPayout(f.tenant), amount: 0n },
      ];

      for (const payout of invalid) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.createCampaign([config, [payout]]),
          campaigns,
          "CampaignInvalidPayout",
          [payout.token, payout.id, payout.amount],
        );
      }
      // The largest amount that fits is accepted.
      await mined(f, campaigns.write.createCampaign([config, [{ token: points, id: 0n, amount: maxUint88 }]]));
      assert.equal((await campaigns.read.getPayouts([1n]))[0]!.amount, maxUint88);
    });

    it("reverts with CampaignPayoutNotMintable for an account that is not a token this registry may mint", async () => {
      const f = await networkHelpers.loadFixture(twoTenantsFixture);
      const { campaigns } = f.tenant;
      const config = await configOf(f);
      const notMintable: Address[] = [
        f.accounts.alice.account.address, // an EOA
        f.tenant.suite.redemptionRegistry, // a tenant contract that is not a token
        f.factory.address, // a contract that is not a tenant contract
        f.tenantB.suite.pointsToken, // another tenant's token, which lets only its own registry mint
        f.tenantB.suite.rewardToken,
      ];

      for (const token of notMintable) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.createCampaign([config, [{ token: getAddress(token), id: 0n, amount: 1n }]]),
          campaigns,
          "CampaignPayoutNotMintable",
          [getAddress(token)],
        );
      }
    });

    it("reverts with CampaignPayoutNotMintable once the tenant admin revokes the registry's minter role", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns, points } = f.tenant;
      await mined(
        f,
        points.write.revokeRole([await points.read.MINTER_ROLE(), campaigns.address], {
          account: f.accounts.tenantAdmin.account,
        }),
      );

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.createCampaign([await configOf(f), [pointsPayout(f.tenant)]]),
        campaigns,
        "CampaignPayoutNotMintable",
        [getAddress(points.address)],
      );
    });

    it("reverts with CampaignDuplicatePayout when a token is paid twice, even with another id", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns, reward } = f.tenant;
      const config = await configOf(f);
      await mined(f, reward.write.defineClass([REWARD_ID + 1n, 0n, ""]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.createCampaign([config, [pointsPayout(f.tenant, 1n), pointsPayout(f.tenant, 2n)]]),
        campaigns,
        "CampaignDuplicatePayout",
        [getAddress(f.tenant.points.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.createCampaign([
          config,
          [rewardPayout(f.tenant), pointsPayout(f.tenant), { ...rewardPayout(f.tenant), id: REWARD_ID + 1n }],
        ]),
        campaigns,
        "CampaignDuplicatePayout",
        [getAddress(reward.address)],
      );
    });

    it("reverts with AccessControlUnauthorizedAccount for an outsider and for the tenant admin", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const role = await campaigns.read.CAMPAIGN_MANAGER_ROLE();
      const config = await configOf(f);

      for (const caller of [f.accounts.outsider, f.accounts.tenantAdmin]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.createCampaign([config, [pointsPayout(f.tenant)]], { account: caller.account }),
          campaigns,
          "AccessControlUnauthorizedAccount",
          [caller.account.address, role],
        );
      }
      assert.equal(await campaigns.read.campaignCount(), 0n);
    });
  });

  describe("updateCampaign", () => {
    it("replaces the config and payouts, keeps the claims paid and emits CampaignUpdated", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const { alice, bob } = f.accounts;
      const id = await createCampaign(f, [pointsPayout(f.tenant), rewardPayout(f.tenant), statusPayout(f.tenant)]);
      await mined(f, campaigns.write.claim([claimRequest(id, 1n, alice.account.address)]));

      const config = await configOf(f, { perUserLimit: 5, budget: 10n });
      const payouts = [rewardPayout(f.tenant, 4n)];
      await viem.assertions.emitWithArgs(
        campaigns.write.updateCampaign([id, config, payouts]),
        campaigns,
        "CampaignUpdated",
        [id, config, payouts],
      );
      assert.deepEqual(await campaigns.read.getCampaign([id]), {
        start: config.start,
        end: config.end,
        status: CampaignStatus.ACTIVE,
        payoutCount: 1,
        perUserLimit: 5,
        budget: 10n,
        claimed: 1n,
      });
      assert.deepEqual(await campaigns.read.getPayouts([id]), payouts);

      // A claim now pays only the new payouts.
      await mined(f, campaigns.write.claim([claimRequest(id, 2n, bob.account.address)]));
      assert.equal(await rewardOf(f.tenant, bob.account.address), 4n);
      assert.equal(await pointsOf(f.tenant, bob.account.address), 0n);
      assert.equal(await statusOf(f.tenant, bob.account.address), 0n);
    });

    it("checks the new config and payouts as createCampaign does", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const config = await configOf(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.updateCampaign([id, { ...config, end: config.start }, [pointsPayout(f.tenant)]]),
        campaigns,
        "CampaignInvalidWindow",
        [config.start, config.start],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.updateCampaign([id, config, []]),
        campaigns,
        "CampaignInvalidPayoutCount",
        [0n, await campaigns.read.MAX_PAYOUTS()],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.updateCampaign([id, config, [pointsPayout(f.tenant), pointsPayout(f.tenant)]]),
        campaigns,
        "CampaignDuplicatePayout",
        [getAddress(f.tenant.points.address)],
      );
    });

    it("reverts with CampaignBudgetBelowClaimed below the claims paid, and accepts a budget equal to them", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f, { perUserLimit: 0 });
      for (const claimId of [1n, 2n]) {
        await mined(f, campaigns.write.claim([claimRequest(id, claimId, f.accounts.alice.account.address)]));
      }
      const config = await configOf(f, { perUserLimit: 0 });

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.updateCampaign([id, { ...config, budget: 1n }, [pointsPayout(f.tenant)]]),
        campaigns,
        "CampaignBudgetBelowClaimed",
        [1n, 2n],
      );
      await mined(f, campaigns.write.updateCampaign([id, { ...config, budget: 2n }, [pointsPayout(f.tenant)]]));
      assert.equal((await campaigns.read.getCampaign([id])).budget, 2n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 3n, f.accounts.alice.account.address)]),
        campaigns,
        "CampaignBudgetExhausted",
        [id, 2n],
      );
    });

    it("reverts with CampaignIsClosed once closed and CampaignNotFound for an unknown campaign", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const config = await configOf(f);
      await mined(f, campaigns.write.closeCampaign([id]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.updateCampaign([id, config, [pointsPayout(f.tenant)]]),
        campaigns,
        "CampaignIsClosed",
        [id],
      );
      for (const unknown of [0n, id + 1n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.updateCampaign([unknown, config, [pointsPayout(f.tenant)]]),
          campaigns,
          "CampaignNotFound",
          [unknown],
        );
      }
    });

    it("reverts with AccessControlUnauthorizedAccount for the tenant admin", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const { tenantAdmin } = f.accounts;

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.updateCampaign([id, await configOf(f), [pointsPayout(f.tenant)]], {
          account: tenantAdmin.account,
        }),
        campaigns,
        "AccessControlUnauthorizedAccount",
        [tenantAdmin.account.address, await campaigns.read.CAMPAIGN_MANAGER_ROLE()],
      );
    });
  });

  describe("pauseCampaign, resumeCampaign, closeCampaign", () => {
    it("pauses and resumes, emitting CampaignPaused and CampaignResumed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);

      await viem.assertions.emitWithArgs(campaigns.write.pauseCampaign([id]), campaigns, "CampaignPaused", [id]);
      assert.equal((await campaigns.read.getCampaign([id])).status, CampaignStatus.PAUSED);
      await viem.assertions.emitWithArgs(campaigns.write.resumeCampaign([id]), campaigns, "CampaignResumed", [id]);
      assert.equal((await campaigns.read.getCampaign([id])).status, CampaignStatus.ACTIVE);
    });

    it("reverts with CampaignNotActive when pausing a paused campaign and CampaignNotPaused when resuming an active one", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.resumeCampaign([id]),
        campaigns,
        "CampaignNotPaused",
        [id, CampaignStatus.ACTIVE],
      );
      await mined(f, campaigns.write.pauseCampaign([id]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.pauseCampaign([id]),
        campaigns,
        "CampaignNotActive",
        [id, CampaignStatus.PAUSED],
      );
    });

    it("closes an active or a paused campaign for good", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const active = await createPointsCampaign(f);
      const paused = await createPointsCampaign(f);
      await mined(f, campaigns.write.pauseCampaign([paused]));

      for (const id of [active, paused]) {
        await viem.assertions.emitWithArgs(campaigns.write.closeCampaign([id]), campaigns, "CampaignClosed", [id]);
        assert.equal((await campaigns.read.getCampaign([id])).status, CampaignStatus.CLOSED);
        for (const write of [
          () => campaigns.write.pauseCampaign([id]),
          () => campaigns.write.resumeCampaign([id]),
          () => campaigns.write.closeCampaign([id]),
          () => campaigns.write.setEngagement([id, f.accounts.business.account.address, true, 1n]),
        ]) {
          await viem.assertions.revertWithCustomErrorWithArgs(write(), campaigns, "CampaignIsClosed", [id]);
        }
      }
    });

    it("reverts with CampaignNotFound for an unknown campaign", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const unknown = 1n;

      for (const write of [
        () => campaigns.write.pauseCampaign([unknown]),
        () => campaigns.write.resumeCampaign([unknown]),
        () => campaigns.write.closeCampaign([unknown]),
        () => campaigns.write.setEngagement([unknown, f.accounts.business.account.address, true, 1n]),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(write(), campaigns, "CampaignNotFound", [unknown]);
      }
    });

    it("reverts with AccessControlUnauthorizedAccount for an outsider", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const { outsider } = f.accounts;
      const role = await campaigns.read.CAMPAIGN_MANAGER_ROLE();
      const as = { account: outsider.account };

      for (const write of [
        () => campaigns.write.pauseCampaign([id], as),
        () => campaigns.write.resumeCampaign([id], as),
        () => campaigns.write.closeCampaign([id], as),
        () => campaigns.write.setEngagement([id, f.accounts.business.account.address, true, 1n], as),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(write(), campaigns, "AccessControlUnauthorizedAccount", [
          outsider.account.address,
          role,
        ]);
      }
    });
  });

  describe("setEngagement", () => {
    it("engages a business with a cap and emits EngagementSet", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const business = f.accounts.business.account.address;

      await viem.assertions.emitWithArgs(
        campaigns.write.setEngagement([id, business, true, 2n]),
        campaigns,
        "EngagementSet",
        [id, business, true, 2n],
      );
      assert.deepEqual(await campaigns.read.getEngagement([id, business]), { active: true, cap: 2n, claimed: 0n });
    });

    it("reverts with CampaignInvalidBusiness for the zero address", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.setEngagement([id, zeroAddress, true, 1n]),
        campaigns,
        "CampaignInvalidBusiness",
        [zeroAddress],
      );
    });

    it("keeps the claims a business brought across updates", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f, { perUserLimit: 0 });
      const business = f.accounts.business.account.address;
      const byBusiness = (claimId: bigint) =>
        claimRequest(id, claimId, f.accounts.alice.account.address, { source: ClaimSource.BUSINESS, business });
      await mined(f, campaigns.write.setEngagement([id, business, true, 5n]));
      await mined(f, campaigns.write.claim([byBusiness(1n)]));
      await mined(f, campaigns.write.claim([byBusiness(2n)]));

      await mined(f, campaigns.write.setEngagement([id, business, false, 3n]));
      assert.deepEqual(await campaigns.read.getEngagement([id, business]), { active: false, cap: 3n, claimed: 2n });
      await mined(f, campaigns.write.setEngagement([id, business, true, 2n]));
      assert.deepEqual(await campaigns.read.getEngagement([id, business]), { active: true, cap: 2n, claimed: 2n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([byBusiness(3n)]),
        campaigns,
        "CampaignBusinessCapReached",
        [id, business, 2n],
      );
    });
  });

  describe("claim", () => {
    it("pays every payout, emits Claimed and counts the claim", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createCampaign(f, [
        pointsPayout(f.tenant, 100n),
        rewardPayout(f.tenant, 2n),
        statusPayout(f.tenant, 1n),
      ]);
      const claimId = 42n;

      await viem.assertions.emitWithArgs(
        campaigns.write.claim([claimRequest(id, claimId, alice)]),
        campaigns,
        "Claimed",
        [id, claimId, alice, ClaimSource.SYSTEM, zeroAddress],
      );
      assert.equal(await pointsOf(f.tenant, alice), 100n);
      assert.equal(await rewardOf(f.tenant, alice), 2n);
      assert.equal(await statusOf(f.tenant, alice), 1n);
      assert.equal(await campaigns.read.claimCountOf([id, alice]), 1n);
      assert.equal(await campaigns.read.isClaimIdUsed([claimId]), true);
      assert.equal(await campaigns.read.isClaimIdUsed([claimId + 1n]), false);
      assert.equal((await campaigns.read.getCampaign([id])).claimed, 1n);
    });

    it("records the source and the business of a business's claim", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const business = f.accounts.business.account.address;
      const id = await createPointsCampaign(f);
      await mined(f, campaigns.write.setEngagement([id, business, true, 10n]));

      await viem.assertions.emitWithArgs(
        campaigns.write.claim([claimRequest(id, 1n, alice, { source: ClaimSource.BUSINESS, business })]),
        campaigns,
        "Claimed",
        [id, 1n, alice, ClaimSource.BUSINESS, business],
      );
      assert.deepEqual(await campaigns.read.getEngagement([id, business]), { active: true, cap: 10n, claimed: 1n });
      assert.equal(await pointsOf(f.tenant, alice), 100n);
    });

    it("emits CampaignBudgetSpent on the last budgeted claim only, then reverts with CampaignBudgetExhausted", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f, { budget: 2n });
      const { alice, bob, outsider } = f.accounts;

      const first = await mined(f, campaigns.write.claim([claimRequest(id, 1n, alice.account.address)]));
      assert.equal(registryEvents(first, campaigns.address, "CampaignBudgetSpent").length, 0);
      await viem.assertions.emitWithArgs(
        campaigns.write.claim([claimRequest(id, 2n, bob.account.address)]),
        campaigns,
        "CampaignBudgetSpent",
        [id, 2n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 3n, outsider.account.address)]),
        campaigns,
        "CampaignBudgetExhausted",
        [id, 2n],
      );
      assert.equal((await campaigns.read.getCampaign([id])).claimed, 2n);
    });

    it("reverts with CampaignClaimIdUsed when the claim id has paid", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      await mined(f, campaigns.write.claim([claimRequest(id, 7n, f.accounts.alice.account.address)]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 7n, f.accounts.bob.account.address)]),
        campaigns,
        "CampaignClaimIdUsed",
        [7n],
      );
      assert.equal(await pointsOf(f.tenant, f.accounts.bob.account.address), 0n);
    });

    it("reverts with CampaignInvalidRecipient for the zero address", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 1n, zeroAddress)]),
        campaigns,
        "CampaignInvalidRecipient",
        [1n],
      );
    });

    it("reverts with CampaignBusinessRequired when a business's claim names none", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([
          claimRequest(id, 1n, f.accounts.alice.account.address, { source: ClaimSource.BUSINESS }),
        ]),
        campaigns,
        "CampaignBusinessRequired",
        [1n],
      );
    });

    it("reverts with CampaignNotFound for an unknown campaign", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);

      for (const unknown of [0n, id + 1n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.claim([claimRequest(unknown, 1n, f.accounts.alice.account.address)]),
          campaigns,
          "CampaignNotFound",
          [unknown],
        );
      }
    });

    it("reverts with CampaignNotActive while paused and once closed, and pays again once resumed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createPointsCampaign(f);

      await mined(f, campaigns.write.pauseCampaign([id]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 1n, alice)]),
        campaigns,
        "CampaignNotActive",
        [id, CampaignStatus.PAUSED],
      );
      await mined(f, campaigns.write.resumeCampaign([id]));
      await mined(f, campaigns.write.claim([claimRequest(id, 1n, alice)]));
      assert.equal(await pointsOf(f.tenant, alice), 100n);

      await mined(f, campaigns.write.closeCampaign([id]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 2n, f.accounts.bob.account.address)]),
        campaigns,
        "CampaignNotActive",
        [id, CampaignStatus.CLOSED],
      );
    });

    it("reverts with CampaignNotStarted before the start and pays from it", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const start = (await now(f)) + 3600;
      const id = await createCampaign(f, [pointsPayout(f.tenant)], { start });

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 1n, alice)]),
        campaigns,
        "CampaignNotStarted",
        [id, start],
      );
      await networkHelpers.time.increaseTo(start);
      await mined(f, campaigns.write.claim([claimRequest(id, 1n, alice)]));
      assert.equal(await pointsOf(f.tenant, alice), 100n);
    });

    it("reverts with CampaignEnded from the end on", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const start = await now(f);
      const end = start + 3600;
      const id = await createCampaign(f, [pointsPayout(f.tenant)], { start, end });

      await networkHelpers.time.increaseTo(end);
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 1n, f.accounts.alice.account.address)]),
        campaigns,
        "CampaignEnded",
        [id, end],
      );
    });

    it("reverts with CampaignUserLimitReached when the recipient has claimed perUserLimit times", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createPointsCampaign(f, { perUserLimit: 2 });
      await mined(f, campaigns.write.claim([claimRequest(id, 1n, alice)]));
      await mined(f, campaigns.write.claim([claimRequest(id, 2n, alice)]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 3n, alice)]),
        campaigns,
        "CampaignUserLimitReached",
        [id, alice, 2],
      );
      assert.equal(await campaigns.read.claimCountOf([id, alice]), 2n);
      // The limit is per recipient.
      await mined(f, campaigns.write.claim([claimRequest(id, 3n, f.accounts.bob.account.address)]));
      assert.equal(await pointsOf(f.tenant, f.accounts.bob.account.address), 100n);
    });

    it("takes perUserLimit 0 as no limit", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createPointsCampaign(f, { perUserLimit: 0 });

      for (const claimId of [1n, 2n, 3n, 4n]) {
        await mined(f, campaigns.write.claim([claimRequest(id, claimId, alice)]));
      }
      assert.equal(await campaigns.read.claimCountOf([id, alice]), 4n);
      assert.equal(await pointsOf(f.tenant, alice), 400n);
    });

    it("reverts with CampaignBusinessNotEngaged for a business never engaged or disengaged", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f, { perUserLimit: 0 });
      const business = f.accounts.business.account.address;
      const byBusiness = (claimId: bigint) =>
        claimRequest(id, claimId, f.accounts.alice.account.address, { source: ClaimSource.BUSINESS, business });

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([byBusiness(1n)]),
        campaigns,
        "CampaignBusinessNotEngaged",
        [id, business],
      );
      await mined(f, campaigns.write.setEngagement([id, business, true, 5n]));
      await mined(f, campaigns.write.claim([byBusiness(1n)]));
      await mined(f, campaigns.write.setEngagement([id, business, false, 5n]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([byBusiness(2n)]),
        campaigns,
        "CampaignBusinessNotEngaged",
        [id, business],
      );
    });

    it("checks the engagement of a business named by a claim of any source", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const business = f.accounts.business.account.address;

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([
          claimRequest(id, 1n, f.accounts.alice.account.address, { source: ClaimSource.USER, business }),
        ]),
        campaigns,
        "CampaignBusinessNotEngaged",
        [id, business],
      );
    });

    it("reverts with CampaignBusinessCapReached once the business brought cap claims", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const business = f.accounts.business.account.address;
      const byBusiness = (claimId: bigint, recipient: Address) =>
        claimRequest(id, claimId, recipient, { source: ClaimSource.BUSINESS, business });
      await mined(f, campaigns.write.setEngagement([id, business, true, 1n]));
      await mined(f, campaigns.write.claim([byBusiness(1n, f.accounts.alice.account.address)]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([byBusiness(2n, f.accounts.bob.account.address)]),
        campaigns,
        "CampaignBusinessCapReached",
        [id, business, 1n],
      );
      // The same claim without the business pays: the cap is the business's, not the campaign's.
      await mined(f, campaigns.write.claim([claimRequest(id, 2n, f.accounts.bob.account.address)]));
      assert.equal(await pointsOf(f.tenant, f.accounts.bob.account.address), 100n);
    });

    it("spends nothing when a rule breaks: the claim id, the user count and the engagement stay as they were", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const business = f.accounts.business.account.address;
      const id = await createPointsCampaign(f, { perUserLimit: 0 });
      await mined(f, campaigns.write.setEngagement([id, business, false, 1n]));

      await viem.assertions.revertWithCustomError(
        campaigns.write.claim([claimRequest(id, 1n, alice, { source: ClaimSource.BUSINESS, business })]),
        campaigns,
        "CampaignBusinessNotEngaged",
      );
      assert.equal(await campaigns.read.isClaimIdUsed([1n]), false);
      assert.equal(await campaigns.read.claimCountOf([id, alice]), 0n);
      assert.equal((await campaigns.read.getCampaign([id])).claimed, 0n);
      assert.deepEqual(await campaigns.read.getEngagement([id, business]), { active: false, cap: 1n, claimed: 0n });
    });

    it("reverts with CampaignClaimIdUsed when a claim id that paid in one campaign is used in another", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const first = await createPointsCampaign(f);
      const second = await createPointsCampaign(f);
      await mined(f, campaigns.write.claim([claimRequest(first, 5n, f.accounts.alice.account.address)]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(second, 5n, f.accounts.bob.account.address)]),
        campaigns,
        "CampaignClaimIdUsed",
        [5n],
      );
    });

    it("pays each of claim ids far apart once, leaving their neighbours unused", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createPointsCampaign(f, { perUserLimit: 0 });
      const claimIds = [1n, 255n, 256n, 2n ** 200n, 2n ** 256n - 1n];

      for (const claimId of claimIds) {
        await mined(f, campaigns.write.claim([claimRequest(id, claimId, alice)]));
      }
      assert.equal(await pointsOf(f.tenant, alice), 100n * BigInt(claimIds.length));
      for (const claimId of claimIds) {
        assert.equal(await campaigns.read.isClaimIdUsed([claimId]), true);
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.claim([claimRequest(id, claimId, alice)]),
          campaigns,
          "CampaignClaimIdUsed",
          [claimId],
        );
      }
      for (const neighbour of [0n, 2n, 254n, 257n, 2n ** 200n - 1n, 2n ** 200n + 1n, 2n ** 256n - 2n]) {
        assert.equal(await campaigns.read.isClaimIdUsed([neighbour]), false, `claim id ${neighbour}`);
      }
    });

    it("reverts with AccessControlUnauthorizedAccount for an outsider and for the tenant admin", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const role = await campaigns.read.CLAIM_OPERATOR_ROLE();

      for (const caller of [f.accounts.outsider, f.accounts.tenantAdmin]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          campaigns.write.claim([claimRequest(id, 1n, caller.account.address)], { account: caller.account }),
          campaigns,
          "AccessControlUnauthorizedAccount",
          [caller.account.address, role],
        );
      }
    });
  });

  describe("claimBatch", () => {
    it("pays every item and returns how many paid", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const { alice, bob, outsider } = f.accounts;
      const id = await createPointsCampaign(f);
      const requests = [alice, bob, outsider].map((account, i) =>
        claimRequest(id, BigInt(i + 1), account.account.address),
      );

      const { result } = await campaigns.simulate.claimBatch([requests]);
      assert.equal(result, 3n);
      const receipt = await mined(f, campaigns.write.claimBatch([requests]));
      assert.deepEqual(
        registryEvents(receipt, campaigns.address, "Claimed").map((log) => log.args),
        requests,
      );
      for (const account of [alice, bob, outsider]) {
        assert.equal(await pointsOf(f.tenant, account.account.address), 100n);
        assert.equal(await campaigns.read.claimCountOf([id, account.account.address]), 1n);
      }
      assert.equal((await campaigns.read.getCampaign([id])).claimed, 3n);
      assert.equal(await f.tenant.points.read.totalSupply(), 300n);
    });

    it("skips each item that breaks a rule with ClaimSkipped and the selector claim would revert with, and pays the rest", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const [alice, bob, outsider, business, carol] = [
        f.accounts.alice,
        f.accounts.bob,
        f.accounts.outsider,
        f.accounts.business,
        f.accounts.protocolOwner,
      ].map((wallet) => getAddress(wallet.account.address)) as [Address, Address, Address, Address, Address];
      const start = await now(f);
      const ending = await createCampaign(f, [pointsPayout(f.tenant)], { start, end: start + 60 });
      const main = await createCampaign(f, [pointsPayout(f.tenant, 100n)], { start, end: start + DAY });
      const oneClaim = await createCampaign(f, [pointsPayout(f.tenant, 10n)], { perUserLimit: 0, budget: 1n });
      const paused = await createPointsCampaign(f);
      const later = await createCampaign(f, [pointsPayout(f.tenant)], { start: start + DAY });
      await mined(f, campaigns.write.pauseCampaign([paused]));
      await mined(f, campaigns.write.setEngagement([main, business, true, 1n]));
      await networkHelpers.time.increaseTo(start + 60);
      const unknown = later + 1n;

      const viaBusiness = { source: ClaimSource.BUSINESS, business };
      const items: { request: Request; skip?: ContractErrorName<typeof campaignRegistryAbi> }[] = [
        { request: claimRequest(main, 1n, alice) },
        { request: claimRequest(main, 1n, bob), skip: "CampaignClaimIdUsed" },
        { request: claimRequest(main, 2n, zeroAddress), skip: "CampaignInvalidRecipient" },
        { request: claimRequest(main, 3n, bob, { source: ClaimSource.BUSINESS }), skip: "CampaignBusinessRequired" },
        { request: claimRequest(unknown, 4n, bob), skip: "CampaignNotFound" },
        { request: claimRequest(paused, 5n, bob), skip: "CampaignNotActive" },
        { request: claimRequest(later, 6n, bob), skip: "CampaignNotStarted" },
        { request: claimRequest(ending, 7n, bob), skip: "CampaignEnded" },
        { request: claimRequest(main, 8n, alice), skip: "CampaignUserLimitReached" },
        {
          request: claimRequest(main, 9n, carol, { source: ClaimSource.BUSINESS, business: outsider }),
          skip: "CampaignBusinessNotEngaged",
        },
        { request: claimRequest(main, 10n, bob, viaBusiness) },
        { request: claimRequest(main, 11n, outsider, viaBusiness), skip: "CampaignBusinessCapReached" },
        { request: claimRequest(oneClaim, 12n, alice) },
        { request: claimRequest(oneClaim, 13n, bob), skip: "CampaignBudgetExhausted" },
      ];
      const requests = items.map((item) => item.request);
      const paying = items.filter((item) => !item.skip).map((item) => item.request);
      const skipped = items.filter((item) => item.skip);

      const { result } = await campaigns.simulate.claimBatch([requests]);
      assert.equal(result, BigInt(paying.length));
      const receipt = await mined(f, campaigns.write.claimBatch([requests]));

      assert.deepEqual(
        registryEvents(receipt, campaigns.address, "ClaimSkipped").map((log) => log.args),
        skipped.map(({ request, skip }) => ({
          campaignId: request.campaignId,
          claimId: request.claimId,
          reason: selectorOf(skip!),
        })),
      );
      assert.deepEqual(
        registryEvents(receipt, campaigns.address, "Claimed").map((log) => log.args),
        paying,
      );
      assert.equal(await pointsOf(f.tenant, alice), 110n);
      assert.equal(await pointsOf(f.tenant, bob), 100n);
      assert.equal(await pointsOf(f.tenant, outsider), 0n);
      assert.equal(await pointsOf(f.tenant, carol), 0n);
      assert.equal(await f.tenant.points.read.totalSupply(), 210n);
      for (const { request } of skipped.filter(({ request }) => request.claimId !== 1n)) {
        assert.equal(await campaigns.read.isClaimIdUsed([request.claimId]), false, `claim id ${request.claimId}`);
      }
      // Sent alone, each skipped item reverts with the error whose selector it was skipped with.
      for (const { request, skip } of skipped) {
        await viem.assertions.revertWithCustomError(campaigns.write.claim([request]), campaigns, skip!);
      }
    });

    it("pays a claim id repeated within one batch once", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const alice = f.accounts.alice.account.address;
      const bob = f.accounts.bob.account.address;
      const requests = [claimRequest(id, 9n, alice), claimRequest(id, 9n, bob)];

      const { result } = await campaigns.simulate.claimBatch([requests]);
      assert.equal(result, 1n);
      await viem.assertions.emitWithArgs(campaigns.write.claimBatch([requests]), campaigns, "ClaimSkipped", [
        id,
        9n,
        selectorOf("CampaignClaimIdUsed"),
      ]);
      assert.equal(await pointsOf(f.tenant, alice), 100n);
      assert.equal(await pointsOf(f.tenant, bob), 0n);
    });

    it("mints each points token once, after every Claimed, in item order", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns, points } = f.tenant;
      const [alice, bob, outsider] = [f.accounts.alice, f.accounts.bob, f.accounts.outsider].map((wallet) =>
        getAddress(wallet.account.address),
      ) as [Address, Address, Address];
      const params = { name: "Miles", symbol: "MLS", decimals: 18, issuers: [] };
      const as = { account: f.accounts.tenantAdmin.account };
      const { result: milesAddress } = await f.factory.simulate.addPointsToken([f.tenant.tenantId, params], {
        account: f.accounts.tenantAdmin.account.address,
      });
      await mined(f, f.factory.write.addPointsToken([f.tenant.tenantId, params], as));
      const miles = await viem.getContractAt("PointsToken", milesAddress);
      const pointsCampaign = await createPointsCampaign(f, { amount: 100n });
      const milesCampaign = await createCampaign(f, [{ token: getAddress(miles.address), id: 0n, amount: 150n }]);
      const requests = [
        claimRequest(pointsCampaign, 1n, alice),
        claimRequest(milesCampaign, 2n, bob),
        claimRequest(pointsCampaign, 3n, bob),
        claimRequest(milesCampaign, 4n, alice),
        claimRequest(milesCampaign, 5n, outsider),
      ];

      const receipt = await mined(f, campaigns.write.claimBatch([requests]));

      assert.equal(await points.read.balanceOf([alice]), 100n);
      assert.equal(await points.read.balanceOf([bob]), 100n);
      assert.equal(await points.read.balanceOf([outsider]), 0n);
      assert.equal(await points.read.totalSupply(), 200n);
      assert.equal(await miles.read.balanceOf([alice]), 150n);
      assert.equal(await miles.read.balanceOf([bob]), 150n);
      assert.equal(await miles.read.balanceOf([outsider]), 150n);
      assert.equal(await miles.read.totalSupply(), 450n);

      const transfers = (token: Address) =>
        pointsTransfers(receipt, token).map(({ args }) => ({ from: args.from, to: args.to, value: args.value }));
      const minted = (to: Address, value: bigint) => ({ from: zeroAddress, to, value });
      assert.deepEqual(transfers(points.address), [minted(alice, 100n), minted(bob, 100n)]);
      assert.deepEqual(transfers(miles.address), [minted(bob, 150n), minted(alice, 150n), minted(outsider, 150n)]);

      const claimed = registryEvents(receipt, campaigns.address, "Claimed");
      assert.equal(claimed.length, requests.length);
      const lastClaimed = Math.max(...claimed.map((log) => log.logIndex));
      const transferIndexes = [
        ...pointsTransfers(receipt, points.address),
        ...pointsTransfers(receipt, miles.address),
      ].map((log) => log.logIndex);
      assert.ok(
        transferIndexes.every((index) => index > lastClaimed),
        "every points Transfer comes after the last Claimed",
      );
    });

    it("pays points of more tokens than MAX_PAYOUTS in one batch", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const as = { account: f.accounts.tenantAdmin.account };
      const tokens: Address[] = [getAddress(f.tenant.points.address)];
      const max = Number(await campaigns.read.MAX_PAYOUTS());
      for (let i = 0; i < max; ++i) {
        const params = { name: `Points ${i}`, symbol: `P${i}`, decimals: 18, issuers: [] };
        const { result } = await f.factory.simulate.addPointsToken([f.tenant.tenantId, params], {
          account: f.accounts.tenantAdmin.account.address,
        });
        await mined(f, f.factory.write.addPointsToken([f.tenant.tenantId, params], as));
        tokens.push(getAddress(result));
      }
      const requests: Request[] = [];
      for (const [i, token] of tokens.entries()) {
        const id = await createCampaign(f, [{ token, id: 0n, amount: BigInt(i + 1) }]);
        requests.push(claimRequest(id, BigInt(i + 1), alice));
      }

      const { result } = await campaigns.simulate.claimBatch([requests]);
      assert.equal(result, BigInt(tokens.length));
      await mined(f, campaigns.write.claimBatch([requests]));
      for (const [i, token] of tokens.entries()) {
        const contract = await viem.getContractAt("PointsToken", token);
        assert.equal(await contract.read.balanceOf([alice]), BigInt(i + 1), `token ${i}`);
      }
    });

    it("mints ERC-1155 payouts with their item and points after every item", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns, points, reward, status } = f.tenant;
      const alice = getAddress(f.accounts.alice.account.address);
      const bob = getAddress(f.accounts.bob.account.address);
      const id = await createCampaign(f, [
        pointsPayout(f.tenant, 100n),
        rewardPayout(f.tenant, 2n),
        statusPayout(f.tenant, 1n),
      ]);

      const receipt = await mined(
        f,
        campaigns.write.claimBatch([[claimRequest(id, 1n, alice), claimRequest(id, 2n, bob)]]),
      );

      for (const holder of [alice, bob]) {
        assert.equal(await pointsOf(f.tenant, holder), 100n);
        assert.equal(await rewardOf(f.tenant, holder), 2n);
        assert.equal(await statusOf(f.tenant, holder), 1n);
      }
      // The sequence of events: each item's Claimed and ERC-1155 mints, then the points.
      const sequence = receipt.logs.flatMap((log) => {
        if (isAddressEqual(log.address, campaigns.address)) {
          const [claimed] = parseEventLogs({ abi: campaignRegistryAbi, eventName: "Claimed", logs: [log] });
          return claimed ? [`Claimed ${claimed.args.recipient}`] : [];
        }
        if (isAddressEqual(log.address, reward.address) || isAddressEqual(log.address, status.address)) {
          const [minted] = parseEventLogs({ abi: rewardTokenAbi, eventName: "TransferSingle", logs: [log] });
          const name = isAddressEqual(log.address, reward.address) ? "reward" : "status";
          return minted ? [`${name} ${minted.args.to} ${minted.args.value}`] : [];
        }
        if (isAddressEqual(log.address, points.address)) {
          const [minted] = parseEventLogs({ abi: pointsTokenAbi, eventName: "Transfer", logs: [log] });
          return minted ? [`points ${minted.args.to} ${minted.args.value}`] : [];
        }
        return [];
      });
      assert.deepEqual(sequence, [
        `Claimed ${alice}`,
        `reward ${alice} 2`,
        `status ${alice} 1`,
        `Claimed ${bob}`,
        `reward ${bob} 2`,
        `status ${bob} 1`,
        `points ${alice} 100`,
        `points ${bob} 100`,
      ]);
    });

    it("pays nothing for an empty batch", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      await createPointsCampaign(f);

      const { result } = await campaigns.simulate.claimBatch([[]]);
      assert.equal(result, 0n);
      const receipt = await mined(f, campaigns.write.claimBatch([[]]));
      assert.equal(receipt.logs.length, 0);
      assert.equal(await f.tenant.points.read.totalSupply(), 0n);
    });

    it("reverts with AccessControlUnauthorizedAccount for an outsider", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const { outsider } = f.accounts;

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claimBatch([[claimRequest(id, 1n, outsider.account.address)]], { account: outsider.account }),
        campaigns,
        "AccessControlUnauthorizedAccount",
        [outsider.account.address, await campaigns.read.CLAIM_OPERATOR_ROLE()],
      );
    });
  });

  describe("claimWithVoucher", () => {
    async function voucherOf(f: TenantFixture, request: Request, deadlineIn = 3600): Promise<ClaimVoucher> {
      return { ...request, deadline: BigInt((await now(f)) + deadlineIn) };
    }

    const domainOf = (registry: Address, chainId: number) => ({
      name: CAMPAIGN_REGISTRY_DOMAIN_NAME,
      version: "1",
      chainId,
      verifyingContract: registry,
    });

    /** The signer a registry at `registry` recovers from `signature` over `voucher`. */
    function recoveredBy(registry: Address, chainId: number, voucher: ClaimVoucher, signature: Hex) {
      return recoverTypedDataAddress({
        domain: domainOf(registry, chainId),
        types: claimVoucherTypes,
        primaryType: "ClaimVoucher",
        message: voucher,
        signature,
      });
    }

    async function sign(f: TenantFixture, voucher: ClaimVoucher, signer: Signer = f.accounts.platform) {
      return signClaimVoucher(signer, f.tenant.campaigns.address, await f.publicClient.getChainId(), voucher);
    }

    const submit = (f: TenantFixture, request: Request, deadline: bigint, signature: Hex) =>
      f.tenant.campaigns.write.claimWithVoucher([request, deadline, signature], {
        account: f.accounts.outsider.account,
      });

    it("pays a voucher signed by a claim signer and submitted by anyone", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 11n, alice, { source: ClaimSource.USER });
      const voucher = await voucherOf(f, request);
      assert.equal(
        await campaigns.read.hasRole([await campaigns.read.CLAIM_SIGNER_ROLE(), f.accounts.platform.account.address]),
        true,
      );

      await viem.assertions.emitWithArgs(
        submit(f, request, voucher.deadline, await sign(f, voucher)),
        campaigns,
        "Claimed",
        [id, 11n, alice, ClaimSource.USER, zeroAddress],
      );
      assert.equal(await pointsOf(f.tenant, alice), 100n);
      assert.equal(await pointsOf(f.tenant, f.accounts.outsider.account.address), 0n);
      assert.equal(await campaigns.read.isClaimIdUsed([11n]), true);
    });

    it("accepts a voucher in the second of its deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request, 600);
      const signature = await sign(f, voucher);

      await networkHelpers.time.setNextBlockTimestamp(voucher.deadline);
      await mined(f, submit(f, request, voucher.deadline, signature));
      assert.equal((await f.publicClient.getBlock()).timestamp, voucher.deadline);
      assert.equal(await pointsOf(f.tenant, f.accounts.alice.account.address), 100n);
    });

    it("gives voucherDigest equal to viem's hashTypedData for the same domain and message", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const business = f.accounts.business.account.address;
      const request = claimRequest(3n, 2n ** 200n, f.accounts.alice.account.address, {
        source: ClaimSource.BUSINESS,
        business,
      });
      const deadline = 1_900_000_000n;

      assert.equal(
        await campaigns.read.voucherDigest([request, deadline]),
        hashTypedData({
          domain: domainOf(campaigns.address, await f.publicClient.getChainId()),
          types: claimVoucherTypes,
          primaryType: "ClaimVoucher",
          message: { ...request, deadline },
        }),
      );
    });

    it("reverts with CampaignClaimIdUsed when the voucher is replayed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const id = await createPointsCampaign(f, { perUserLimit: 0 });
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);
      const signature = await sign(f, voucher);
      await mined(f, submit(f, request, voucher.deadline, signature));

      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, voucher.deadline, signature),
        f.tenant.campaigns,
        "CampaignClaimIdUsed",
        [1n],
      );
      assert.equal(await pointsOf(f.tenant, f.accounts.alice.account.address), 100n);
    });

    it("reverts with CampaignVoucherExpired after the deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request, 600);
      const signature = await sign(f, voucher);
      await networkHelpers.time.increaseTo(voucher.deadline);

      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, voucher.deadline, signature),
        f.tenant.campaigns,
        "CampaignVoucherExpired",
        [voucher.deadline],
      );
    });

    it("reverts with CampaignVoucherSignerUnauthorized for a signer without CLAIM_SIGNER_ROLE", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);

      for (const signer of [f.accounts.outsider, f.accounts.tenantAdmin, f.accounts.alice]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          submit(f, request, voucher.deadline, await sign(f, voucher, signer)),
          f.tenant.campaigns,
          "CampaignVoucherSignerUnauthorized",
          [signer.account.address],
        );
      }
    });

    it("reverts with CampaignVoucherSignerUnauthorized once the tenant admin revokes the signer", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);
      const signature = await sign(f, voucher);
      const platform = f.accounts.platform.account.address;
      await mined(
        f,
        campaigns.write.revokeRole([await campaigns.read.CLAIM_SIGNER_ROLE(), platform], {
          account: f.accounts.tenantAdmin.account,
        }),
      );

      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, voucher.deadline, signature),
        campaigns,
        "CampaignVoucherSignerUnauthorized",
        [platform],
      );
    });

    it("reverts with CampaignVoucherSignerUnauthorized for a voucher signed for another chain id", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);
      const chainId = await f.publicClient.getChainId();
      const signature = await signClaimVoucher(f.accounts.platform, campaigns.address, chainId + 1, voucher);
      const recovered = await recoveredBy(campaigns.address, chainId, voucher, signature);
      assert.ok(!isAddressEqual(recovered, f.accounts.platform.account.address));

      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, voucher.deadline, signature),
        campaigns,
        "CampaignVoucherSignerUnauthorized",
        [recovered],
      );
    });

    it("reverts with CampaignVoucherSignerUnauthorized for a voucher signed for another tenant's registry", async () => {
      const f = await networkHelpers.loadFixture(twoTenantsFixture);
      const { campaigns } = f.tenant;
      const alice = f.accounts.alice.account.address;
      const id = await createPointsCampaign(f);
      const idB = await createCampaign(f, [pointsPayout(f.tenantB)], {}, f.tenantB);
      assert.equal(idB, id);
      const request = claimRequest(id, 1n, alice);
      const voucher = await voucherOf(f, request);
      const chainId = await f.publicClient.getChainId();
      const signature = await signClaimVoucher(f.accounts.platform, f.tenantB.campaigns.address, chainId, voucher);
      const recovered = await recoveredBy(campaigns.address, chainId, voucher, signature);
      assert.ok(!isAddressEqual(recovered, f.accounts.platform.account.address));

      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, voucher.deadline, signature),
        campaigns,
        "CampaignVoucherSignerUnauthorized",
        [recovered],
      );
      // The same voucher pays where it was meant to.
      await mined(
        f,
        f.tenantB.campaigns.write.claimWithVoucher([request, voucher.deadline, signature], {
          account: f.accounts.outsider.account,
        }),
      );
      assert.equal(await pointsOf(f.tenantB, alice), 100n);
      assert.equal(await pointsOf(f.tenant, alice), 0n);
    });

    it("reverts with CampaignVoucherSignerUnauthorized when a signed field is changed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);
      const signature = await sign(f, voucher);
      const chainId = await f.publicClient.getChainId();
      const tampered = [
        { ...request, recipient: getAddress(f.accounts.outsider.account.address) },
        { ...request, claimId: 2n },
        { ...request, source: ClaimSource.ADMIN },
      ];

      for (const changed of tampered) {
        const recovered = await recoveredBy(
          campaigns.address,
          chainId,
          { ...changed, deadline: voucher.deadline },
          signature,
        );
        await viem.assertions.revertWithCustomErrorWithArgs(
          submit(f, changed, voucher.deadline, signature),
          campaigns,
          "CampaignVoucherSignerUnauthorized",
          [recovered],
        );
      }
      const laterDeadline = voucher.deadline + 1n;
      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, laterDeadline, signature),
        campaigns,
        "CampaignVoucherSignerUnauthorized",
        [await recoveredBy(campaigns.address, chainId, { ...voucher, deadline: laterDeadline }, signature)],
      );
      assert.equal(await pointsOf(f.tenant, f.accounts.outsider.account.address), 0n);
    });

    it("applies the campaign's rules to a voucher's claim", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 1n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);
      await mined(f, campaigns.write.pauseCampaign([id]));

      await viem.assertions.revertWithCustomErrorWithArgs(
        submit(f, request, voucher.deadline, await sign(f, voucher)),
        campaigns,
        "CampaignNotActive",
        [id, CampaignStatus.PAUSED],
      );
    });

    it("spends the voucher's claim id, which claim then cannot pay", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { campaigns } = f.tenant;
      const id = await createPointsCampaign(f);
      const request = claimRequest(id, 21n, f.accounts.alice.account.address);
      const voucher = await voucherOf(f, request);
      await mined(f, submit(f, request, voucher.deadline, await sign(f, voucher)));

      await viem.assertions.revertWithCustomErrorWithArgs(
        campaigns.write.claim([claimRequest(id, 21n, f.accounts.bob.account.address)]),
        campaigns,
        "CampaignClaimIdUsed",
        [21n],
      );
      assert.equal(await pointsOf(f.tenant, f.accounts.bob.account.address), 0n);
    });
  });
});
