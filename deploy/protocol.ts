// Deploys the protocol on one chain: the ERC-2771 forwarder, one implementation of each tenant
// contract (trusting that forwarder), and the TenantFactory with those implementations current.
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { getAddress, type Address, type Hash } from "viem";
import type { Deployment } from "./deployment-file.ts";

export const FORWARDER_NAME = "PERS Forwarder";

/** Tenant contract implementations, by the name of their contract. */
export const IMPLEMENTATION_CONTRACTS = [
  "PointsToken",
  "RewardToken",
  "StatusToken",
  "CampaignRegistry",
  "RedemptionRegistry",
] as const;
export type ImplementationContract = (typeof IMPLEMENTATION_CONTRACTS)[number];

export type DeployProtocolParameters = {
  /** The protocol owner, who approves implementations; the deployer if not given. */
  owner?: Address;
  /** Progress lines, for long deployments on real networks. */
  log?: (line: string) => void;
};

export type DeployProtocolReturnType = Omit<Deployment, "network" | "rpcUrlVariable">;

export async function deployProtocol(
  viem: HardhatViemHelpers,
  { owner, log = () => {} }: DeployProtocolParameters = {},
): Promise<DeployProtocolReturnType> {
  const publicClient = await viem.getPublicClient();
  const [deployer] = await viem.getWalletClients();
  if (!deployer) throw new Error("deployProtocol: the network has no account to deploy with");
  const protocolOwner = owner ?? deployer.account.address;

  const startBlock = await publicClient.getBlockNumber();
  const blockOf = async (hash: Hash) => Number((await publicClient.waitForTransactionReceipt({ hash })).blockNumber);

  log(`deploying ERC2771Forwarder "${FORWARDER_NAME}"`);
  const forwarder = await viem.deployContract("ERC2771Forwarder", [FORWARDER_NAME]);

  const implementations = {} as Record<ImplementationContract, Address>;
  for (const name of IMPLEMENTATION_CONTRACTS) {
    log(`deploying ${name} implementation`);
    implementations[name] = getAddress((await viem.deployContract(name, [forwarder.address])).address);
  }

  log("deploying TenantFactory");
  const factory = await viem.deployContract("TenantFactory", [deployer.account.address]);
  const factoryBlock = await publicClient.getBlockNumber();
  for (const name of IMPLEMENTATION_CONTRACTS) {
    const implementation = await viem.getContractAt(name, implementations[name]);
    const kind = await implementation.read.contractKind();
    await blockOf(await factory.write.setCurrentImplementation([kind, implementations[name]]));
  }
  if (protocolOwner.toLowerCase() !== deployer.account.address.toLowerCase()) {
    log(`offering factory ownership to ${protocolOwner} (it must call acceptOwnership)`);
    await blockOf(await factory.write.transferOwnership([protocolOwner]));
  }

  return {
    chainId: await publicClient.getChainId(),
    deployer: getAddress(deployer.account.address),
    owner: getAddress(protocolOwner),
    startBlock: Number(startBlock),
    contracts: {
      forwarder: getAddress(forwarder.address),
      tenantFactory: getAddress(factory.address),
      tenantFactoryBlock: Number(factoryBlock),
      implementations,
    },
  };
}
