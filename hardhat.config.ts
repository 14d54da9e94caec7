import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";

// Hardhat would download solc; these machines have no internet, so use the
// WASM build from the pinned npm `solc` package (it must be an absolute path).
const solcPath = createRequire(import.meta.url).resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    version: "0.8.30",
    path: solcPath,
    // The protocol's one forwarder per chain is OpenZeppelin's, deployed as it is.
    npmFilesToBuild: ["@openzeppelin/contracts/metatx/ERC2771Forwarder.sol"],
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "prague",
      // upgrades-core reads storage layouts from the build info (test/helpers/upgrade-safety.ts).
      outputSelection: { "*": { "*": ["storageLayout"] } },
    },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 64, failOnRevert: false },
    },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.RPC_URL_31337 ?? "http://127.0.0.1:8545",
    },
  },
});
