// Deploying a tenant's contract suite through the TenantFactory with the platform's key, waiting
// for the receipt. The suite's admin is the tenant's own wallet or a custodial one; the platform's
// signer gets only operator roles (the factory grants them).
import { BaseError, ContractFunctionRevertedError, keccak256, stringToHex, type Address, type Hex } from "viem";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import { createTenant, type CreateTenantReturnType } from "../../../../deploy/tenant.ts";
import type { ChainClients } from "../../chain/chains.ts";
import { conflict, unavailable } from "../../errors.ts";

/** The factory's 32-byte externalId for a tenant's readable one. */
export const onchainExternalId = (externalId: string): Hex => keccak256(stringToHex(`pers:tenant:${externalId}`));

export type DeploySuiteParameters = {
  chain: ChainClients;
  externalId: string;
  admin: Address;
  points: { name: string; symbol: string; decimals: number };
  rewardUri?: string;
  statusUri?: string;
};

export async function deploySuite(parameters: DeploySuiteParameters): Promise<CreateTenantReturnType> {
  const { chain } = parameters;
  try {
    return await createTenant({
      publicClient: chain.publicClient,
      walletClient: chain.walletClient,
      factory: chain.deployment.contracts.tenantFactory,
      externalId: onchainExternalId(parameters.externalId),
      admin: parameters.admin,
      operators: [chain.walletClient.account.address],
      points: parameters.points,
      ...(parameters.rewardUri && { rewardUri: parameters.rewardUri }),
      ...(parameters.statusUri && { statusUri: parameters.statusUri }),
    });
  } catch (error) {
    const revert =
      error instanceof BaseError ? error.walk((cause) => cause instanceof ContractFunctionRevertedError) : undefined;
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName === "TenantFactoryTenantExists") {
      throw conflict(`A tenant with externalId ${parameters.externalId} already exists on chain ${chain.chainId}.`);
    }
    throw unavailable(`Deploying the tenant's contracts on chain ${chain.chainId} failed: ${shortMessage(error)}`);
  }
}

const shortMessage = (error: unknown) =>
  error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);

export { tenantFactoryAbi };
