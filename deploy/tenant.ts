// Creating a tenant through the TenantFactory, one way for all: scripts and tests send it with plain
// viem clients (createTenant); the API sends the same call through its nonce lane (createTenantCall,
// then createdTenant on the receipt).
import {
  encodeFunctionData,
  parseEventLogs,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { tenantFactoryAbi } from "../abi/tenantFactory.ts";

export type TenantSuite = {
  pointsToken: Address;
  rewardToken: Address;
  statusToken: Address;
  campaignRegistry: Address;
  redemptionRegistry: Address;
};

export type CreateTenantParameters = {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
  factory: Address;
  /** The creator's own id for the tenant, as 32 bytes. */
  externalId: Hex;
  admin: Address;
  operators: Address[];
  points: { name: string; symbol: string; decimals: number };
  rewardUri?: string;
  statusUri?: string;
};

export type CreateTenantReturnType = {
  tenantId: Hex;
  suite: TenantSuite;
  transactionHash: Hash;
  blockNumber: bigint;
  gasUsed: bigint;
};

/** The TenantFactory.createTenant call, for a caller that sends it its own way (the API's nonce lane). */
export function createTenantCall({
  factory,
  externalId,
  admin,
  operators,
  points,
  rewardUri = "",
  statusUri = "",
}: Omit<CreateTenantParameters, "publicClient" | "walletClient">): { to: Address; data: Hex } {
  return {
    to: factory,
    data: encodeFunctionData({
      abi: tenantFactoryAbi,
      functionName: "createTenant",
      args: [externalId, tenantParams({ admin, operators, points, rewardUri, statusUri })],
    }),
  };
}

const tenantParams = ({
  admin,
  operators,
  points,
  rewardUri,
  statusUri,
}: Pick<CreateTenantParameters, "admin" | "operators" | "points"> & { rewardUri: string; statusUri: string }) => ({
  admin,
  operators,
  pointsName: points.name,
  pointsSymbol: points.symbol,
  pointsDecimals: points.decimals,
  rewardUri,
  statusUri,
});

/** The tenant a createTenant transaction made, read from its receipt. */
export function createdTenant(receipt: TransactionReceipt): CreateTenantReturnType {
  const [created] = parseEventLogs({ abi: tenantFactoryAbi, eventName: "TenantCreated", logs: receipt.logs });
  if (receipt.status !== "success" || !created) {
    throw new Error(`createTenant ${receipt.transactionHash} did not create a tenant (status ${receipt.status})`);
  }
  const { tenantId, pointsToken, rewardToken, statusToken, campaignRegistry, redemptionRegistry } = created.args;
  return {
    tenantId,
    suite: { pointsToken, rewardToken, statusToken, campaignRegistry, redemptionRegistry },
    transactionHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
  };
}

export async function createTenant({
  publicClient,
  walletClient,
  factory,
  externalId,
  admin,
  operators,
  points,
  rewardUri = "",
  statusUri = "",
}: CreateTenantParameters): Promise<CreateTenantReturnType> {
  const { request } = await publicClient.simulateContract({
    account: walletClient.account,
    address: factory,
    abi: tenantFactoryAbi,
    functionName: "createTenant",
    args: [externalId, tenantParams({ admin, operators, points, rewardUri, statusUri })],
  });
  const transactionHash = await walletClient.writeContract(request);
  return createdTenant(await publicClient.waitForTransactionReceipt({ hash: transactionHash }));
}
