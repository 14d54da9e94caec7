// The demo tenant that `npm start` creates on a freshly deployed protocol: one campaign and one
// redemption offer. Account 0 is the platform (deployer and operator), account 1 the tenant's
// admin, account 2 a customer who has claimed once.
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { getAddress, parseEventLogs, parseUnits, stringToHex, zeroAddress, type Address, type Hex } from "viem";
import { ClaimSource } from "../abi/enums.ts";
import { campaignRegistryAbi } from "../abi/campaignRegistry.ts";
import { redemptionRegistryAbi } from "../abi/redemptionRegistry.ts";
import type { Deployment } from "./deployment-file.ts";
import { createTenant, type TenantSuite } from "./tenant.ts";

export type DemoTenant = {
  tenantId: Hex;
  suite: TenantSuite;
  admin: Address;
  operator: Address;
  customer: Address;
  campaignId: bigint;
  offerId: bigint;
  rewardId: bigint;
  /** The demo's last transaction: the customer's claim. */
  claimTransaction: Hex;
};

/**
 * Creates the demo tenant on chain, or, given `existing` (a suite the API deployed with account 1
 * as its admin), sets up its campaign, offer and claim only.
 */
export async function createDemoTenant(
  viem: HardhatViemHelpers,
  deployment: Deployment,
  existing?: { tenantId: Hex; suite: TenantSuite },
): Promise<DemoTenant> {
  const publicClient = await viem.getPublicClient();
  const [platform, tenantAdmin, customer] = await viem.getWalletClients();
  if (!platform || !tenantAdmin || !customer) throw new Error("demo: the network needs three accounts");
  const wait = (hash: `0x${string}`) => publicClient.waitForTransactionReceipt({ hash });

  const { tenantId, suite } =
    existing ??
    (await createTenant({
      publicClient,
      walletClient: platform,
      factory: deployment.contracts.tenantFactory,
      externalId: stringToHex("demo", { size: 32 }),
      admin: tenantAdmin.account.address,
      operators: [platform.account.address],
      points: { name: "Demo Points", symbol: "DEMO", decimals: 18 },
      rewardUri: "https://example.com/demo/rewards/{id}.json",
      statusUri: "https://example.com/demo/status/{id}.json",
    }));

  const reward = await viem.getContractAt("RewardToken", suite.rewardToken);
  const campaigns = await viem.getContractAt("CampaignRegistry", suite.campaignRegistry);
  const redemptions = await viem.getContractAt("RedemptionRegistry", suite.redemptionRegistry);
  const now = (await publicClient.getBlock()).timestamp;
  const yearLater = Number(now) + 365 * 24 * 3600;

  const rewardId = 1n;
  await wait(await reward.write.defineClass([rewardId, 1000n, ""]));

  const points = (whole: number) => parseUnits(String(whole), 18);
  const campaignReceipt = await wait(
    await campaigns.write.createCampaign([
      { start: Number(now), end: yearLater, perUserLimit: 5, budget: 10_000n },
      [{ token: suite.pointsToken, id: 0n, amount: points(100) }],
    ]),
  );
  const [campaignCreated] = parseEventLogs({
    abi: campaignRegistryAbi,
    eventName: "CampaignCreated",
    logs: campaignReceipt.logs,
  });

  const offerReceipt = await wait(
    await redemptions.write.createOffer([
      { start: Number(now), end: yearLater, supply: 1000n, statusToken: zeroAddress, statusId: 0n },
      [{ token: suite.pointsToken, id: 0n, amount: points(50) }],
      [{ token: suite.rewardToken, id: rewardId, amount: 1n }],
      [],
    ]),
  );
  const [offerCreated] = parseEventLogs({
    abi: redemptionRegistryAbi,
    eventName: "OfferCreated",
    logs: offerReceipt.logs,
  });

  // One claim, so that the demo has a holder to look at.
  const claimReceipt = await wait(
    await campaigns.write.claim([
      {
        campaignId: campaignCreated!.args.campaignId,
        claimId: 1n,
        recipient: customer.account.address,
        source: ClaimSource.SYSTEM,
        business: zeroAddress,
      },
    ]),
  );

  return {
    tenantId,
    suite,
    admin: getAddress(tenantAdmin.account.address),
    operator: getAddress(platform.account.address),
    customer: getAddress(customer.account.address),
    campaignId: campaignCreated!.args.campaignId,
    offerId: offerCreated!.args.offerId,
    rewardId,
    claimTransaction: claimReceipt.transactionHash,
  };
}

/** The protocol and demo tenant addresses as an aligned table. */
export function describeDemo(deployment: Deployment, demo: DemoTenant): string {
  const rows: [string, string][] = [
    ["chain id", String(deployment.chainId)],
    ["forwarder", deployment.contracts.forwarder],
    ["tenant factory", deployment.contracts.tenantFactory],
    ...Object.entries(deployment.contracts.implementations).map(([name, address]): [string, string] => [
      `${name} implementation`,
      address,
    ]),
    ["demo tenant id", demo.tenantId],
    ["  admin", demo.admin],
    ["  operator (platform)", demo.operator],
    ["  points token (DEMO)", demo.suite.pointsToken],
    ["  reward token", demo.suite.rewardToken],
    ["  status token", demo.suite.statusToken],
    ["  campaign registry", demo.suite.campaignRegistry],
    ["  redemption registry", demo.suite.redemptionRegistry],
    ["  campaign id (100 DEMO per claim)", String(demo.campaignId)],
    ["  offer id (50 DEMO for reward 1)", String(demo.offerId)],
    ["  customer (claimed once)", demo.customer],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}
