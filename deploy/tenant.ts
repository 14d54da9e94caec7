// Creating a tenant through the TenantFactory with plain viem clients, so that scripts, tests and
// the API share one way of doing it.
import {
  parseEventLogs,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
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
    args: [
      externalId,
      {
        admin,
        operators,
        pointsName: points.name,
        pointsSymbol: points.symbol,
        pointsDecimals: points.decimals,
        rewardUri,
        statusUri,
      },
    ],
  });
  const transactionHash = await walletClient.writeContract(request);
  const receipt = await publicClient.waitForTransactionReceipt({ hash: transactionHash });
  const [created] = parseEventLogs({ abi: tenantFactoryAbi, eventName: "TenantCreated", logs: receipt.logs });
  if (receipt.status !== "success" || !created) {
    throw new Error(`createTenant ${transactionHash} did not create a tenant (status ${receipt.status})`);
  }
  const { tenantId, pointsToken, rewardToken, statusToken, campaignRegistry, redemptionRegistry } = created.args;
  return {
    tenantId,
    suite: { pointsToken, rewardToken, statusToken, campaignRegistry, redemptionRegistry },
    transactionHash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
  };
}
