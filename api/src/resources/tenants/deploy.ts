// Deploying a tenant's contract suite through the TenantFactory with the platform's key, waiting
// for the receipt. The suite's admin is the tenant's own wallet or a custodial one; the platform's
// signer gets only operator roles (the factory grants them). That key is also the relayer's signer:
// the transaction takes its nonce from the relayer's lane (relay/sendAndWait.ts), never beside it.
import { BaseError, ContractFunctionRevertedError, keccak256, stringToHex, type Address, type Hex } from "viem";
import { createdTenant, createTenantCall, type CreateTenantReturnType } from "../../../../deploy/tenant.ts";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import type { ChainClients } from "../../chain/chains.ts";
import { conflict, Problem, unavailable } from "../../errors.ts";
import type { Services } from "../../http/context.ts";
import { shortError } from "../../relay/chainErrors.ts";
import { sendAndWait, SendAndWaitError } from "../../relay/sendAndWait.ts";
import { platformSigner } from "../../relay/signers.ts";

/** The factory's 32-byte externalId for a tenant's readable one. */
export const onchainExternalId = (externalId: string): Hex => keccak256(stringToHex(`pers:tenant:${externalId}`));

export type DeploySuiteParameters = {
  services: Pick<Services, "db" | "config" | "logger">;
  chain: ChainClients;
  externalId: string;
  admin: Address;
  points: { name: string; symbol: string; decimals: number };
  rewardUri?: string;
  statusUri?: string;
};

export async function deploySuite(parameters: DeploySuiteParameters): Promise<CreateTenantReturnType> {
  const { services, chain } = parameters;
  const { config } = services;
  const signer = platformSigner(chain);
  const call = createTenantCall({
    factory: chain.deployment.contracts.tenantFactory,
    externalId: onchainExternalId(parameters.externalId),
    admin: parameters.admin,
    operators: [signer.address],
    points: parameters.points,
    ...(parameters.rewardUri && { rewardUri: parameters.rewardUri }),
    ...(parameters.statusUri && { statusUri: parameters.statusUri }),
  });
  try {
    // A transaction of an earlier attempt may have created it after that request gave up waiting.
    const earlier = await findCreatedTenant(chain, signer.address, parameters.externalId);
    if (earlier) return adopt(earlier, parameters, chain.chainId);
    const receipt = await sendAndWait({
      db: services.db,
      lane: { chain, signer },
      call,
      maxFeePerGas: config.RELAYER_MAX_FEE_PER_GAS_WEI,
      confirmations: config.RELAYER_CONFIRMATIONS,
      timeoutMs: config.TENANT_DEPLOY_TIMEOUT_MS,
      logger: services.logger,
    });
    return createdTenant(receipt);
  } catch (error) {
    if (error instanceof Problem) throw error;
    if (
      error instanceof SendAndWaitError &&
      error.failure === "reverts" &&
      error.message.startsWith("TenantFactoryTenantExists(")
    ) {
      // Mined meanwhile (an earlier attempt's transaction, or a concurrent request's).
      const created = await findCreatedTenant(chain, signer.address, parameters.externalId);
      if (created) return adopt(created, parameters, chain.chainId);
      throw conflict(`A tenant with externalId ${parameters.externalId} already exists on chain ${chain.chainId}.`);
    }
    throw unavailable(`Deploying the tenant's contracts on chain ${chain.chainId} failed: ${shortError(error)}`);
  }
}

type CreatedTenant = CreateTenantReturnType & { admin: Address };

/** The suite the platform's signer created on chain for this externalId, if it did. */
async function findCreatedTenant(
  chain: ChainClients,
  creator: Address,
  externalId: string,
): Promise<CreatedTenant | undefined> {
  const factory = chain.deployment.contracts.tenantFactory;
  const tenantId = await chain.publicClient.readContract({
    address: factory,
    abi: tenantFactoryAbi,
    functionName: "tenantIdOf",
    args: [creator, onchainExternalId(externalId)],
  });
  // A cheap view first: only a suite that exists is looked for in the factory's logs.
  try {
    await chain.publicClient.readContract({
      address: factory,
      abi: tenantFactoryAbi,
      functionName: "getTenant",
      args: [tenantId],
    });
  } catch (error) {
    const reverted =
      error instanceof BaseError && error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    if (
      reverted instanceof ContractFunctionRevertedError &&
      reverted.data?.errorName === "TenantFactoryTenantNotFound"
    ) {
      return undefined;
    }
    throw error;
  }
  const [event] = await chain.publicClient.getContractEvents({
    address: factory,
    abi: tenantFactoryAbi,
    eventName: "TenantCreated",
    args: { tenantId, creator },
    fromBlock: BigInt(chain.deployment.contracts.tenantFactoryBlock),
  });
  if (!event) return undefined;
  const receipt = await chain.publicClient.getTransactionReceipt({ hash: event.transactionHash });
  return { ...createdTenant(receipt), admin: event.args.admin! };
}

/** An existing suite becomes this tenant's only if its admin is the one this tenant asked for. */
function adopt(created: CreatedTenant, parameters: DeploySuiteParameters, chainId: number): CreateTenantReturnType {
  if (created.admin.toLowerCase() !== parameters.admin.toLowerCase()) {
    throw conflict(
      `A tenant with externalId ${parameters.externalId} already exists on chain ${chainId}, with another admin.`,
    );
  }
  parameters.services.logger.info(
    { externalId: parameters.externalId, transactionHash: created.transactionHash },
    "adopting the tenant suite an earlier attempt created",
  );
  const { admin: _admin, ...adopted } = created;
  return adopted;
}
