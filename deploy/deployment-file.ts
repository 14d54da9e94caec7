// The deployment output: one JSON file per chain under deployments/, read by the indexer, the API
// and the tests. Nothing else holds an address.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isAddress, type Address } from "viem";
import type { ImplementationContract } from "./protocol.ts";

/** deployments/ at the repository's top, unless PERS_DEPLOYMENTS_DIR names another folder. */
export const DEPLOYMENTS_DIR =
  process.env.PERS_DEPLOYMENTS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "..", "deployments");

export type Deployment = {
  chainId: number;
  /** The Hardhat network name it was deployed with. */
  network: string;
  /** The environment variable that holds this chain's RPC URL. */
  rpcUrlVariable: string;
  deployer: Address;
  owner: Address;
  /** The block before the first deployment transaction: where an indexer starts. */
  startBlock: number;
  contracts: {
    forwarder: Address;
    tenantFactory: Address;
    tenantFactoryBlock: number;
    implementations: Record<ImplementationContract, Address>;
  };
};

export const rpcUrlVariableFor = (chainId: number) => `RPC_URL_${chainId}`;

export function deploymentPath(chainId: number, dir = DEPLOYMENTS_DIR): string {
  return join(dir, `${chainId}.json`);
}

export function writeDeployment(deployment: Deployment, dir = DEPLOYMENTS_DIR): string {
  const path = deploymentPath(deployment.chainId, dir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(deployment, null, 2) + "\n");
  return path;
}

/** Reads and checks a chain's deployment file; the error names the file and what is wrong. */
export function readDeployment(chainId: number, dir = DEPLOYMENTS_DIR): Deployment {
  const path = deploymentPath(chainId, dir);
  let deployment: Deployment;
  try {
    deployment = JSON.parse(readFileSync(path, "utf8")) as Deployment;
  } catch (error) {
    throw new Error(`no readable deployment for chain ${chainId} at ${path}: ${(error as Error).message}`);
  }
  const addresses = [
    deployment.contracts?.forwarder,
    deployment.contracts?.tenantFactory,
    ...Object.values(deployment.contracts?.implementations ?? {}),
  ];
  if (deployment.chainId !== chainId || !addresses.every((address) => isAddress(address ?? ""))) {
    throw new Error(`the deployment file ${path} is not a deployment of chain ${chainId}`);
  }
  return deployment;
}
