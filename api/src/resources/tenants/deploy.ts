// Deploying a tenant's contract suite through the TenantFactory with the platform's key, waiting
// for the receipt. The suite's admin is the tenant's own wallet or a custodial one; the platform's
// signer gets only operator roles (the factory grants them). That key is also the relayer's signer:
// the transaction takes its nonce from the relayer's lane (relay/sendAndWait.ts), never beside it.
import { keccak256, stringToHex, type Address, type Hex } from "viem";
import { createdTenant, createTenantCall, type CreateTenantReturnType } from "../../../../deploy/tenant.ts";
import type { ChainClients } from "../../chain/chains.ts";
import { conflict, unavailable } from "../../errors.ts";
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
    if (
      error instanceof SendAndWaitError &&
      error.failure === "reverts" &&
      error.message.startsWith("TenantFactoryTenantExists(")
    ) {
      throw conflict(`A tenant with externalId ${parameters.externalId} already exists on chain ${chain.chainId}.`);
    }
    throw unavailable(`Deploying the tenant's contracts on chain ${chain.chainId} failed: ${shortError(error)}`);
  }
}
