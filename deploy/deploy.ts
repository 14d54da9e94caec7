// `hardhat run deploy/deploy.ts --network <name>`: deploys the protocol on that network and
// writes deployments/<chainId>.json. PROTOCOL_OWNER sets the factory's owner (default: the deployer).
import { network } from "hardhat";
import { getAddress } from "viem";
import { rpcUrlVariableFor, writeDeployment } from "./deployment-file.ts";
import { deployProtocol } from "./protocol.ts";

const connection = await network.getOrCreate();
const owner = process.env.PROTOCOL_OWNER ? getAddress(process.env.PROTOCOL_OWNER) : undefined;
const deployed = await deployProtocol(connection.viem, { owner, log: (line) => console.log(`deploy: ${line}`) });
const path = writeDeployment({
  ...deployed,
  network: connection.networkName,
  rpcUrlVariable: rpcUrlVariableFor(deployed.chainId),
});
console.log(`deploy: chain ${deployed.chainId} deployed, written to ${path}`);
