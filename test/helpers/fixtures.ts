// Shared fixtures: a deployed protocol, and a tenant with a reward class and a status class defined.
// Use them through `networkHelpers.loadFixture(() => ...)` with one function per test file, so that
// every test starts from the same snapshot.
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { getAddress, parseEventLogs, stringToHex, zeroAddress, type Address, type Hex } from "viem";
import { campaignRegistryAbi } from "../../abi/campaignRegistry.ts";
import { ClaimSource } from "../../abi/enums.ts";
import { deployProtocol } from "../../deploy/protocol.ts";
import { createTenant } from "../../deploy/tenant.ts";

export const REWARD_ID = 1n;
export const STATUS_ID = 7n;
export const DAY = 24 * 3600;

export async function protocolFixture(viem: HardhatViemHelpers) {
  const publicClient = await viem.getPublicClient();
  const [platform, tenantAdmin, alice, bob, business, outsider, protocolOwner] = await viem.getWalletClients();
  if (!platform || !tenantAdmin || !alice || !bob || !business || !outsider || !protocolOwner) {
    throw new Error("fixtures need seven accounts");
  }
  const deployment = await deployProtocol(viem);
  const factory = await viem.getContractAt("TenantFactory", deployment.contracts.tenantFactory);
  const forwarder = await viem.getContractAt("ERC2771Forwarder", deployment.contracts.forwarder);
  return {
    viem,
    publicClient,
    deployment,
    factory,
    forwarder,
    accounts: { platform, tenantAdmin, alice, bob, business, outsider, protocolOwner },
  };
}

export type ProtocolFixture = Awaited<ReturnType<typeof protocolFixture>>;

/** Creates a tenant on `protocol` whose admin is `tenantAdmin` and operator `platform`. */
export async function addTenant(protocol: ProtocolFixture, externalId = "tenant-a") {
  const { viem, publicClient, factory, accounts } = protocol;
  const created = await createTenant({
    publicClient,
    walletClient: accounts.platform,
    factory: factory.address,
    externalId: stringToHex(externalId, { size: 32 }),
    admin: accounts.tenantAdmin.account.address,
    operators: [accounts.platform.account.address],
    points: { name: "Points", symbol: "PTS", decimals: 18 },
    rewardUri: "ipfs://rewards/{id}",
    statusUri: "ipfs://status/{id}",
  });
  const { suite } = created;
  const reward = await viem.getContractAt("RewardToken", suite.rewardToken);
  const status = await viem.getContractAt("StatusToken", suite.statusToken);
  await publicClient.waitForTransactionReceipt({ hash: await reward.write.defineClass([REWARD_ID, 0n, ""]) });
  await publicClient.waitForTransactionReceipt({ hash: await status.write.defineClass([STATUS_ID, 0n, ""]) });
  return {
    ...created,
    points: await viem.getContractAt("PointsToken", suite.pointsToken),
    reward,
    status,
    campaigns: await viem.getContractAt("CampaignRegistry", suite.campaignRegistry),
    redemptions: await viem.getContractAt("RedemptionRegistry", suite.redemptionRegistry),
  };
}

export type Tenant = Awaited<ReturnType<typeof addTenant>>;

export async function tenantFixture(viem: HardhatViemHelpers) {
  const protocol = await protocolFixture(viem);
  return { ...protocol, tenant: await addTenant(protocol) };
}

export type TenantFixture = Awaited<ReturnType<typeof tenantFixture>>;

export async function now(protocol: ProtocolFixture): Promise<number> {
  return Number((await protocol.publicClient.getBlock()).timestamp);
}

/** Creates a campaign paying `amount` points per claim, open from now for a day, and returns its id. */
export async function createPointsCampaign(
  fixture: TenantFixture,
  { amount = 100n, perUserLimit = 1, budget = 1000n }: { amount?: bigint; perUserLimit?: number; budget?: bigint } = {},
): Promise<bigint> {
  const start = await now(fixture);
  const hash = await fixture.tenant.campaigns.write.createCampaign([
    { start, end: start + DAY, perUserLimit, budget },
    [{ token: fixture.tenant.points.address, id: 0n, amount }],
  ]);
  const receipt = await fixture.publicClient.waitForTransactionReceipt({ hash });
  const [created] = parseEventLogs({ abi: campaignRegistryAbi, eventName: "CampaignCreated", logs: receipt.logs });
  return created!.args.campaignId;
}

export function claimRequest(
  campaignId: bigint,
  claimId: bigint,
  recipient: Address,
  { source = ClaimSource.SYSTEM, business = zeroAddress }: { source?: ClaimSource; business?: Address } = {},
) {
  return { campaignId, claimId, recipient: getAddress(recipient), source, business };
}

export const asHex = (text: string): Hex => stringToHex(text, { size: 32 });
