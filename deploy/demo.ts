// `hardhat run deploy/demo.ts --network <name>`: creates the demo tenant on a deployed protocol
// (deployments/<chainId>.json) and prints every address.
import { network } from "hardhat";
import { readDeployment } from "./deployment-file.ts";
import { createDemoTenant, describeDemo } from "./demo-tenant.ts";

const { viem } = await network.getOrCreate();
const deployment = readDeployment(await (await viem.getPublicClient()).getChainId());
console.log(describeDemo(deployment, await createDemoTenant(viem, deployment)));
