// `npm run bench:gas`: deploys everything on Hardhat's in-process network and measures the gas of
// whole transactions (receipt gasUsed). Writes bench/results/gas.json and bench/results/gas.md.
//
// Claims use claim ids handed out in sequence, as the API does, after the registry has already
// paid claim id 1: a claim then shares its claim-id bitmap word with earlier ones, as 255 claims
// out of 256 do in steady state.
import { mkdirSync, writeFileSync } from "node:fs";
import { network } from "hardhat";
import { encodeFunctionData, parseUnits, zeroAddress, type Address, type Hash } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { signClaimVoucher, signForwardRequest } from "../deploy/signatures.ts";
import {
  addTenant,
  claimRequest,
  createPointsCampaign,
  protocolFixture,
  STATUS_ID,
  REWARD_ID,
} from "../test/helpers/fixtures.ts";

const TRANSACTION_GAS_CAP = 2n ** 24n;
const BATCH = 100;

const { viem } = await network.create();
const protocol = await protocolFixture(viem);
const { publicClient, accounts } = protocol;
const gasOf = async (hash: Hash | Promise<Hash>) => {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error(`bench transaction ${receipt.transactionHash} reverted`);
  return receipt.gasUsed;
};
const freshAddresses = (count: number): Address[] =>
  Array.from({ length: count }, () => privateKeyToAccount(generatePrivateKey()).address);
const log = (line: string) => console.log(`bench:gas: ${line}`);

const results: Record<string, number> = {};
const record = (key: string, gas: bigint | number) => {
  results[key] = Number(gas);
  log(`${key.padEnd(40)} ${Number(gas).toLocaleString("en-US")}`);
};

// Baseline: a plain OpenZeppelin ERC-20 `_mint` to a new holder.
const bare = await viem.deployContract("BareERC20");
await gasOf(bare.write.mint([accounts.bob.account.address, 1n])); // totalSupply is non-zero, as in a live token
record("bareMint", await gasOf(bare.write.mint([freshAddresses(1)[0]!, parseUnits("100", 18)])));

const tenant = await addTenant(protocol);
const creation = await addTenant(protocol, "measured-tenant");
record("createTenant", creation.gasUsed);
const fixture = { ...protocol, tenant };
const { campaigns } = tenant;

let nextClaimId = 1n;
const claim = (campaignId: bigint, recipient: Address) =>
  campaigns.write.claim([claimRequest(campaignId, nextClaimId++, recipient)]);
const batch = (campaignId: bigint, recipients: Address[]) =>
  campaigns.write.claimBatch([recipients.map((recipient) => claimRequest(campaignId, nextClaimId++, recipient))]);

// New holders: never held points, never claimed (limit 1). Existing: hold points, second claim (limit 10).
const newHolderCampaign = await createPointsCampaign(fixture, { perUserLimit: 1, budget: 1_000_000n });
const existingHolderCampaign = await createPointsCampaign(fixture, { perUserLimit: 10, budget: 1_000_000n });
await gasOf(claim(newHolderCampaign, accounts.bob.account.address)); // spends claim id 1

record("claimNewHolder", await gasOf(claim(newHolderCampaign, freshAddresses(1)[0]!)));

const regular = freshAddresses(1)[0]!;
await gasOf(claim(existingHolderCampaign, regular));
record("claimExistingHolder", await gasOf(claim(existingHolderCampaign, regular)));

record(
  "claimBatch100NewHoldersPerClaim",
  (await gasOf(batch(newHolderCampaign, freshAddresses(BATCH)))) / BigInt(BATCH),
);

const regulars = freshAddresses(BATCH);
await gasOf(batch(existingHolderCampaign, regulars));
record("claimBatch100ExistingHoldersPerClaim", (await gasOf(batch(existingHolderCampaign, regulars))) / BigInt(BATCH));

// The largest batch of new-holder claims under the per-transaction cap: estimate from the marginal
// cost of 100 more claims, then prove it by sending that batch and checking one more would not fit.
const gas100 = await gasOf(batch(newHolderCampaign, freshAddresses(100)));
const gas200 = await gasOf(batch(newHolderCampaign, freshAddresses(200)));
const marginal = (gas200 - gas100) / 100n;
let maxClaims = Number((TRANSACTION_GAS_CAP - (gas100 - 100n * marginal)) / marginal);
// A batch over the cap runs out of gas in the estimate; it does not fit either way.
const estimateBatch = (size: number) =>
  publicClient
    .estimateContractGas({
      account: accounts.platform.account,
      address: campaigns.address,
      abi: campaigns.abi,
      functionName: "claimBatch",
      args: [
        freshAddresses(size).map((recipient, i) => claimRequest(newHolderCampaign, nextClaimId + BigInt(i), recipient)),
      ],
    })
    .catch(() => TRANSACTION_GAS_CAP + 1n);
while ((await estimateBatch(maxClaims)) > TRANSACTION_GAS_CAP) maxClaims -= 1;
while ((await estimateBatch(maxClaims + 1)) <= TRANSACTION_GAS_CAP) maxClaims += 1;
const maxBatchGas = await gasOf(batch(newHolderCampaign, freshAddresses(maxClaims)));
if (maxBatchGas > TRANSACTION_GAS_CAP) throw new Error(`a batch of ${maxClaims} used ${maxBatchGas} gas, over the cap`);
record("claimBatchMax", maxClaims);

// A voucher signed by the platform (a claim signer), submitted by someone else, for a new holder.
const chainId = await publicClient.getChainId();
const deadline = BigInt((await publicClient.getBlock()).timestamp) + 3600n;
const voucher = { ...claimRequest(newHolderCampaign, nextClaimId++, freshAddresses(1)[0]!), deadline };
const signature = await signClaimVoucher(accounts.platform, campaigns.address, chainId, voucher);
const { deadline: _, ...request } = voucher;
record(
  "claimWithVoucher",
  await gasOf(campaigns.write.claimWithVoucher([request, deadline, signature], { account: accounts.outsider.account })),
);

// Redeem: 50 points for one reward, by a holder who already holds some rewards.
const now = Number((await publicClient.getBlock()).timestamp);
const offerGas = await tenant.redemptions.write.createOffer([
  { start: now, end: now + 86_400, supply: 1000n, statusToken: zeroAddress, statusId: 0n },
  [{ token: tenant.points.address, id: 0n, amount: 50n }],
  [{ token: tenant.reward.address, id: REWARD_ID, amount: 1n }],
  [],
]);
await gasOf(offerGas);
const holder = accounts.alice;
await gasOf(campaigns.write.claim([claimRequest(existingHolderCampaign, nextClaimId++, holder.account.address)]));
await gasOf(tenant.redemptions.write.redeem([1n, 1n, zeroAddress], { account: holder.account }));
record("redeem", await gasOf(tenant.redemptions.write.redeem([1n, 1n, zeroAddress], { account: holder.account })));

// A points transfer signed by the holder (who is given points first: the redemptions spent hers) and relayed through the forwarder (the relayer pays gas).
await gasOf(campaigns.write.claim([claimRequest(existingHolderCampaign, nextClaimId++, holder.account.address)]));
const transfer = await signForwardRequest({
  publicClient,
  signer: holder,
  forwarder: protocol.forwarder.address,
  to: tenant.points.address,
  data: encodeFunctionData({ abi: pointsTokenAbi, functionName: "transfer", args: [accounts.bob.account.address, 1n] }),
  gas: 100_000n,
  deadline: now + 3600,
});
record(
  "forwardedTransfer",
  await gasOf(protocol.forwarder.write.execute([transfer], { account: accounts.outsider.account })),
);

// A status token minted by a minter (as the programme contracts do) to a new holder.
const minterRole = await tenant.status.read.MINTER_ROLE();
await gasOf(
  tenant.status.write.grantRole([minterRole, accounts.platform.account.address], {
    account: accounts.tenantAdmin.account,
  }),
);
record("statusMint", await gasOf(tenant.status.write.mint([freshAddresses(1)[0]!, STATUS_ID, 1n])));

// ---------------------------------------------------------------- report
const targets = [
  ["claimNewHolder", 2.2],
  ["claimBatch100NewHoldersPerClaim", 1.1],
  ["claimBatch100ExistingHoldersPerClaim", 0.45],
] as const;
const checks = targets.map(([key, factor]) => {
  const ratio = results[key]! / results.bareMint!;
  return { key, factor, ratio, met: ratio <= factor };
});
const json = {
  ...results,
  targets: Object.fromEntries(
    checks.map((c) => [c.key, { ratioToBareMint: Number(c.ratio.toFixed(3)), limit: c.factor, met: c.met }]),
  ),
};

const markdown = [
  "# Gas benchmark",
  "",
  `Measured ${new Date().toISOString()} on Hardhat's in-process network; every figure is the gas of a whole transaction (per claim for batches), except claimBatchMax, a count.`,
  "",
  "| measure | gas | × bareMint |",
  "|---|---:|---:|",
  ...Object.entries(results).map(([key, gas]) =>
    key === "claimBatchMax"
      ? `| ${key} | ${gas} claims | |`
      : `| ${key} | ${gas.toLocaleString("en-US")} | ${(gas / results.bareMint!).toFixed(2)} |`,
  ),
  "",
  "| target | ratio | limit | met |",
  "|---|---:|---:|---|",
  ...checks.map(
    (c) => `| ${c.key} ≤ ${c.factor} × bareMint | ${c.ratio.toFixed(3)} | ${c.factor} | ${c.met ? "yes" : "**no**"} |`,
  ),
  "",
].join("\n");

mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/gas.json", JSON.stringify(json, null, 2) + "\n");
writeFileSync("bench/results/gas.md", markdown);
log("wrote bench/results/gas.json and bench/results/gas.md");
for (const c of checks)
  log(`${c.key}: ${c.ratio.toFixed(3)} × bareMint (target ≤ ${c.factor}) ${c.met ? "met" : "NOT MET"}`);
