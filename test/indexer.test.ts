// End to end: a real JSON-RPC chain, the protocol, two tenants and every kind of movement, the
// Ponder indexer following it live, and the auditor's check. Runs on embedded PGlite, and also on
// PostgreSQL when PERS_TEST_DATABASE_URL names one (CI sets it).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { get, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import pg from "pg";
import { hardhat } from "viem/chains";
import {
  encodeFunctionData,
  hexToBigInt,
  keccak256,
  maxUint64,
  parseEventLogs,
  toHex,
  zeroAddress,
  type Address,
  type Hash,
} from "viem";
import { ClaimSource, ContractKind, IssueReason } from "../abi/enums.ts";
import { campaignRegistryAbi } from "../abi/campaignRegistry.ts";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { rewardTokenAbi } from "../abi/rewardToken.ts";
import { rpcUrlVariableFor, writeDeployment } from "../deploy/deployment-file.ts";
import { signClaimVoucher, signForwardRequest } from "../deploy/signatures.ts";
import { audit, formatAudit, type AuditParameters, type ValueDifference } from "../indexer/audit.ts";
import { cacheRequestCounts, rpcRequestCounts, waitForIndexedTransaction } from "../indexer/status.ts";
import { startIndexer, type IndexerProcess } from "../scripts/indexer-process.ts";
import {
  addTenant,
  asHex,
  claimRequest,
  DAY,
  now,
  protocolFixture,
  REWARD_ID,
  STATUS_ID,
  type ProtocolFixture,
  type Tenant,
} from "./helpers/fixtures.ts";
import { implementationOf } from "./helpers/erc1967.ts";
import { freePort } from "./helpers/ports.ts";
import { startProxy } from "./helpers/proxy.ts";
import { createScratchDatabase, type ScratchDatabase } from "./helpers/scratchDatabase.ts";

/** The chain the tests start: Hardhat's local chain id. */
const localChainId = hardhat.id;

/** OpenZeppelin Initializable's ERC-7201 slot; its low 64 bits hold the initialized version. */
const INITIALIZABLE_SLOT = "0xf0c57e16840df040f15088dc2f81fe391c3923bec73e23a9662efc9c229c6a00";

type Activity = {
  protocol: ProtocolFixture;
  tenants: [Tenant, Tenant];
  lastTransaction: Hash;
  claimTransaction: Hash;
  redeemTransaction: Hash;
  issueTransaction: Hash;
  /** Tenant B's campaign whose budget of one claim is spent, and the block that spent it. */
  spentCampaign: { id: bigint; block: bigint };
  pointsV2: Address;
};

/** Everything the indexer must follow: claims of every kind, a redemption, transfers, burns, pauses,
 * approvals, a new token class, an implementation approved, made current and upgraded to, and the
 * factory's ownership offered. */
async function makeActivity(protocol: ProtocolFixture): Promise<Activity> {
  const { publicClient, accounts } = protocol;
  const wait = async (hash: Hash | Promise<Hash>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
    return receipt.transactionHash;
  };
  const a = await addTenant(protocol, "e2e-a");
  const b = await addTenant(protocol, "e2e-b");
  const [alice, bob, business] = [
    accounts.alice.account.address,
    accounts.bob.account.address,
    accounts.business.account.address,
  ];

  const start = await now(protocol);
  const campaignOf = async (
    tenant: Tenant,
    payouts: { token: Address; id: bigint; amount: bigint }[],
    budget = 100n,
  ) => {
    const hash = await wait(
      tenant.campaigns.write.createCampaign([{ start, end: start + DAY, perUserLimit: 5, budget }, payouts]),
    );
    const receipt = await publicClient.getTransactionReceipt({ hash });
    return parseEventLogs({ abi: campaignRegistryAbi, eventName: "CampaignCreated", logs: receipt.logs })[0]!.args
      .campaignId;
  };
  const pointsA = await campaignOf(a, [
    { token: a.points.address, id: 0n, amount: 100n },
    { token: a.status.address, id: STATUS_ID, amount: 1n },
  ]);
  const pointsB = await campaignOf(b, [{ token: b.points.address, id: 0n, amount: 70n }]);
  await wait(a.campaigns.write.setEngagement([pointsA, business, true, 10n]));

  const claimTransaction = await wait(
    a.campaigns.write.claim([claimRequest(pointsA, 1n, alice, { source: ClaimSource.BUSINESS, business })]),
  );
  // A batch: bob twice in tenant A (two claims), alice in tenant B, and one item skipped (claim id 1 again).
  await wait(
    a.campaigns.write.claimBatch([
      [claimRequest(pointsA, 2n, bob), claimRequest(pointsA, 3n, bob), claimRequest(pointsA, 1n, bob)],
    ]),
  );
  await wait(b.campaigns.write.claimBatch([[claimRequest(pointsB, 1n, alice), claimRequest(pointsB, 2n, bob)]]));
  const voucher = { ...claimRequest(pointsA, 4n, alice), deadline: BigInt(start + DAY) };
  const { deadline, ...request } = voucher;
  const signature = await signClaimVoucher(accounts.platform, a.campaigns.address, localChainId, voucher);
  await wait(
    a.campaigns.write.claimWithVoucher([request, deadline, signature], { account: accounts.outsider.account }),
  );

  // A redemption through the forwarder: 50 points for one reward.
  await wait(
    a.redemptions.write.createOffer([
      { start, end: start + DAY, supply: 10n, statusToken: zeroAddress, statusId: 0n },
      [{ token: a.points.address, id: 0n, amount: 50n }],
      [{ token: a.reward.address, id: REWARD_ID, amount: 1n }],
      [],
    ]),
  );
  const forwarded = await signForwardRequest({
    publicClient,
    signer: accounts.alice,
    forwarder: protocol.forwarder.address,
    to: a.redemptions.address,
    data: encodeFunctionData({ abi: a.redemptions.abi, functionName: "redeem", args: [1n, 1n, zeroAddress] }),
    gas: 500_000n,
    deadline: start + DAY,
  });
  const redeemTransaction = await wait(
    protocol.forwarder.write.execute([forwarded], { account: accounts.outsider.account }),
  );

  // A campaign whose whole budget, one claim, is spent.
  const spentId = await campaignOf(b, [{ token: b.points.address, id: 0n, amount: 5n }], 1n);
  const spending = await wait(b.campaigns.write.claim([claimRequest(spentId, 10n, bob)]));
  const spentCampaign = {
    id: spentId,
    block: (await publicClient.getTransactionReceipt({ hash: spending })).blockNumber,
  };

  // Allowances: alice lets bob spend 100 points, he spends 30 of them (no Approval event); an
  // operator for alice's rewards; a reward class with its own URI.
  await wait(a.points.write.approve([bob, 100n], { account: accounts.alice.account }));
  await wait(a.points.write.transferFrom([alice, bob, 30n], { account: accounts.bob.account }));
  await wait(a.reward.write.setApprovalForAll([business, true], { account: accounts.alice.account }));
  await wait(a.reward.write.defineClass([REWARD_ID + 1n, 10n, "ipfs://reward-two"]));

  // Implementations: PointsTokenV2 approved, made current, and tenant B's points upgraded to it.
  const pointsV2 = (await protocol.viem.deployContract("PointsTokenV2", [protocol.forwarder.address])).address;
  await wait(protocol.factory.write.setImplementationApproval([ContractKind.POINTS_TOKEN, pointsV2, true]));
  await wait(protocol.factory.write.setCurrentImplementation([ContractKind.POINTS_TOKEN, pointsV2]));
  await wait(b.points.write.upgradeToAndCall([pointsV2, "0x"], { account: accounts.tenantAdmin.account }));
  // The factory's ownership offered to another account, not yet accepted.
  await wait(protocol.factory.write.transferOwnership([accounts.protocolOwner.account.address]));

  // Transfers and a holder's burn, then pauses, then a purchase issued last.
  await wait(a.points.write.transfer([bob, 30n], { account: accounts.alice.account }));
  await wait(a.reward.write.safeTransferFrom([alice, bob, REWARD_ID, 1n, "0x"], { account: accounts.alice.account }));
  await wait(a.points.write.burn([20n], { account: accounts.bob.account }));
  await wait(a.campaigns.write.pauseCampaign([pointsA]));
  await wait(b.points.write.pause({ account: accounts.tenantAdmin.account }));
  await wait(b.points.write.unpause({ account: accounts.tenantAdmin.account }));
  const issueTransaction = await wait(a.points.write.issue([alice, 500n, IssueReason.PURCHASE, asHex("payment-1")]));
  return {
    protocol,
    tenants: [a, b],
    lastTransaction: issueTransaction,
    claimTransaction,
    redeemTransaction,
    issueTransaction,
    spentCampaign,
    pointsV2,
  };
}

type IndexedTransaction = {
  token: string;
  tokenId: string;
  type: string;
  from: string;
  to: string;
  amount: string;
  cause: string;
  causeReference: string | null;
  transactionHash: string;
};

async function graphql<data>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<data> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: data; errors?: unknown };
  assert.ok(body.data, `GraphQL failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function indexedTransactions(url: string): Promise<IndexedTransaction[]> {
  const data = await graphql<{ transactions: { items: IndexedTransaction[] } }>(
    url,
    `
      {
        transactions(limit: 1000, orderBy: "id") {
          items {
            token
            tokenId
            type
            from
            to
            amount
            cause
            causeReference
            transactionHash
          }
        }
      }
    `,
  );
  return data.transactions.items;
}

/** A GET over a connection of its own (no pooled keep-alive), from `localAddress` if given. */
function httpGet(
  url: string,
  {
    localAddress,
    headers,
    signal,
  }: { localAddress?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; at: number }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, localAddress, headers, signal }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode!, headers: response.headers, body, at: Date.now() }),
      );
    }).on("error", reject);
  });
}

/** Ponder's SQL over HTTP, as @ponder/client asks it (superjson of the query). */
const sqlPath = (query: string, route: "db" | "live" = "db") =>
  `/sql/${route}?sql=${encodeURIComponent(JSON.stringify({ json: { sql: query, params: [], typings: [] } }))}`;

/** A cross join of ten-row lists, its cost the same whatever the tables hold: 10^7 rows, a second or
 * more on either database. `salt` makes each query new to Ponder's cache of results. */
const slowQuery = (salt: number) => {
  const digits = `(values ${Array.from({ length: 10 }, (_, i) => `(${i})`).join(", ")})`;
  return `select count(*) + ${salt} from ${Array.from({ length: 7 }, (_, i) => `${digits} as d${i}(x)`).join(", ")}`;
};

/** TenantFactory: the audit checks each tenant's tokens against its getters. */
const factoryOf = (activity: Activity) => activity.protocol.factory.address;

/** The indexer's audit answers, as far as the tests rewrite them. */
type BalancesPage = {
  balances: { token: string; tokenId: string; owner: string; amount: string }[];
  next: string | null;
};
type TenantSummary = {
  tokens: { address: string; standard: string }[];
  statistics: { token: string; holders: number }[];
};
const isTenantSummary = (path: string) => /^\/audit\/\d+\/[^/?]+(\?|$)/.test(path);

const show = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v));

/** Every movement of value the chain logged, as the indexer should have it (a transfer of nothing is none). */
async function chainMovements(activity: Activity) {
  const { publicClient } = activity.protocol;
  const movements: { token: string; tokenId: string; from: string; to: string; amount: string; hash: string }[] = [];
  for (const tenant of activity.tenants) {
    const pointsLogs = await publicClient.getLogs({
      address: tenant.points.address,
      event: pointsTokenAbi.find((item) => item.type === "event" && item.name === "Transfer")!,
      fromBlock: 0n,
    });
    for (const log of pointsLogs) {
      const { from, to, value } = log.args as { from: Address; to: Address; value: bigint };
      movements.push({ token: log.address, tokenId: "0", from, to, amount: String(value), hash: log.transactionHash });
    }
    for (const token of [tenant.reward.address, tenant.status.address]) {
      const logs = parseEventLogs({
        abi: rewardTokenAbi,
        eventName: "TransferSingle",
        logs: await publicClient.getLogs({ address: token, fromBlock: 0n }),
      });
      for (const log of logs) {
        const { from, to, id, value } = log.args;
        movements.push({
          token: log.address,
          tokenId: String(id),
          from,
          to,
          amount: String(value),
          hash: log.transactionHash,
        });
      }
    }
  }
  const key = (m: { token: string; tokenId: string; from: string; to: string; amount: string; hash: string }) =>
    [m.hash, m.token, m.tokenId, m.from, m.to, m.amount].map((part) => part.toLowerCase()).join(":");
  return movements
    .filter((m) => m.amount !== "0")
    .map(key)
    .sort();
}

const variants = [
  { name: "embedded PGlite", databaseUrl: undefined },
  ...(process.env.PERS_TEST_DATABASE_URL
    ? [{ name: "PostgreSQL", databaseUrl: process.env.PERS_TEST_DATABASE_URL }]
    : []),
];

for (const variant of variants) {
  describe(`the indexer on ${variant.name}`, () => {
    let server: Awaited<ReturnType<typeof network.createServer>>;
    let rpcUrl: string;
    let indexer: IndexerProcess;
    let activity: Activity;
    let database: ScratchDatabase | undefined;
    let provider: { request: (args: { method: string; params?: unknown[] }) => Promise<unknown> };
    let deployments: string;
    let output = "";
    /** The audit of this chain through an indexer's URL (the indexer's own, or a proxy's). */
    const auditThrough = (indexerUrl: string, options: Partial<AuditParameters> = {}) =>
      audit({ chainId: localChainId, rpcUrl, indexerUrl, factory: factoryOf(activity), ...options });

    before(async () => {
      server = await network.createServer("default", "127.0.0.1", await freePort());
      const { port } = await server.listen();
      rpcUrl = `http://127.0.0.1:${port}`;
      const connection = await network.create({ network: "localhost", override: { url: rpcUrl } });
      const { viem } = connection;
      provider = connection.provider;
      const protocol = await protocolFixture(viem);
      deployments = mkdtempSync(join(tmpdir(), "pers-indexer-"));
      writeDeployment(
        { ...protocol.deployment, network: "localhost", rpcUrlVariable: rpcUrlVariableFor(localChainId) },
        deployments,
      );

      // A database of its own on PostgreSQL, not a schema in the shared one: Ponder caches the chain's
      // logs and blocks per database and chain id (ponder_sync), and every run's chain is a new 31337.
      database = variant.databaseUrl ? await createScratchDatabase(variant.databaseUrl, "pers_indexer_e2e") : undefined;
      indexer = await startIndexer({
        port: await freePort(),
        schema: "e2e",
        pgliteDir: join(deployments, "pglite"),
        env: {
          [rpcUrlVariableFor(localChainId)]: rpcUrl,
          PERS_DEPLOYMENTS_DIR: deployments,
          DATABASE_URL: database?.url,
          // The SQL limits' defaults, whatever this shell has.
          INDEXER_SQL_CONCURRENCY: undefined,
          INDEXER_SQL_PER_MINUTE: undefined,
        },
        onOutput: (text) => (output += text),
      });
      // Activity while the indexer follows the chain live, as it would in production.
      activity = await makeActivity(protocol);
      await waitForIndexedTransaction(indexer.url, activity.lastTransaction);
    });

    after(
      async () => {
        await indexer?.stop();
        await server?.close();
        await database?.drop();
        if (deployments) rmSync(deployments, { recursive: true, force: true });
      },
      { timeout: 30_000 },
    );

    it("has every movement the chain logged, no more, no less", async () => {
      const indexed = (await indexedTransactions(indexer.url))
        .map((t) =>
          [t.transactionHash, t.token, t.tokenId, t.from, t.to, t.amount].map((p) => p.toLowerCase()).join(":"),
        )
        .sort();
      assert.deepEqual(indexed, await chainMovements(activity), output.slice(-3000));
    });

    it("attributes mints and burns to their claim, redemption or purchase, and leaves transfers without a cause", async () => {
      const rows = await indexedTransactions(indexer.url);
      const [a] = activity.tenants;
      const of = (hash: Hash) => rows.filter((row) => row.transactionHash === hash.toLowerCase());

      const claimRows = of(activity.claimTransaction);
      assert.deepEqual(
        claimRows.map((row) => [row.type, row.token, row.cause, row.causeReference]).sort(),
        [
          ["MINT", a.points.address.toLowerCase(), "CLAIM", "1"],
          ["MINT", a.status.address.toLowerCase(), "CLAIM", "1"],
        ].sort(),
      );
      assert.deepEqual(
        of(activity.redeemTransaction)
          .map((row) => [row.type, row.cause, row.causeReference])
          .sort(),
        [
          ["BURN", "REDEMPTION", "1"],
          ["MINT", "REDEMPTION", "1"],
        ],
      );
      assert.deepEqual(
        of(activity.issueTransaction).map((row) => [row.type, row.cause, row.causeReference]),
        [["MINT", "PURCHASE", asHex("payment-1")]],
      );
      const plain = rows.filter((row) => row.type === "TRANSFER" || (row.type === "BURN" && row.cause === "NONE"));
      assert.equal(plain.length, 4); // a transferFrom, a points transfer, a reward transfer, a holder's burn
      assert.ok(plain.every((row) => row.cause === "NONE"));
      assert.equal(rows.filter((row) => row.type === "MINT" && row.cause === "NONE").length, 0);
    });

    it("keeps campaigns, claims and redemptions as the chain has them", async () => {
      const [a] = activity.tenants;
      const onChain = await a.campaigns.read.getCampaign([1n]);
      const data = await graphql<{
        campaigns: {
          items: { registry: string; campaignId: string; claimed: string; skipped: string; status: string }[];
        };
        claims: { items: { claimId: string }[] };
        redemptionOffers: { items: { supplyLeft: string; redeemed: string }[] };
        engagements: { items: { claimed: string }[] };
      }>(
        indexer.url,
        `
          query ($registry: String!) {
            campaigns(where: { registry: $registry }) {
              items {
                registry
                campaignId
                claimed
                skipped
                status
              }
            }
            claims(where: { registry: $registry }, limit: 100) {
              items {
                claimId
              }
            }
            redemptionOffers {
              items {
                supplyLeft
                redeemed
              }
            }
            engagements {
              items {
                claimed
              }
            }
          }
        `,
        { registry: a.campaigns.address.toLowerCase() },
      );
      assert.deepEqual(
        data.campaigns.items.map((c) => [c.claimed, c.skipped, c.status]),
        [[String(onChain.claimed), "1", "PAUSED"]],
      );
      assert.deepEqual(data.claims.items.map((c) => c.claimId).sort(), ["1", "2", "3", "4"]);
      assert.deepEqual(data.redemptionOffers.items, [{ supplyLeft: "9", redeemed: "1" }]);
      assert.deepEqual(data.engagements.items, [{ claimed: "1" }]);
    });

    it("knows each tenant contract's implementation and who holds which role", async () => {
      const [a] = activity.tenants;
      const { deployment, accounts } = activity.protocol;
      const data = await graphql<{
        tenantContract: { implementation: string } | null;
        roleMembers: { items: { account: string; active: boolean }[] };
      }>(
        indexer.url,
        `
          query ($chainId: Float!, $address: String!, $role: String!) {
            tenantContract(chainId: $chainId, address: $address) {
              implementation
            }
            roleMembers(where: { contract: $address, role: $role }) {
              items {
                account
                active
              }
            }
          }
        `,
        { chainId: localChainId, address: a.points.address.toLowerCase(), role: await a.points.read.MINTER_ROLE() },
      );
      assert.equal(data.tenantContract?.implementation, deployment.contracts.implementations.PointsToken.toLowerCase());
      assert.deepEqual(data.roleMembers.items, [{ account: a.campaigns.address.toLowerCase(), active: true }]);
      assert.notEqual(accounts.platform.account.address.toLowerCase(), data.roleMembers.items[0]?.account);
    });

    it("keeps allowances, operators, class URIs, spent budgets and initialised versions as the chain has them", async () => {
      const [a, b] = activity.tenants;
      const { accounts, publicClient } = activity.protocol;
      const [alice, bob, business] = [
        accounts.alice.account.address,
        accounts.bob.account.address,
        accounts.business.account.address,
      ].map((address) => address.toLowerCase() as Address) as [Address, Address, Address];
      const data = await graphql<{
        allowances: { items: { token: string; owner: Address; spender: Address; amount: string }[] };
        operatorApprovals: { items: { token: string; account: Address; operator: Address; approved: boolean }[] };
        tokenClasss: { items: { token: string; tokenId: string; uri: string; maxSupply: string }[] };
        campaigns: { items: { campaignId: string; budgetSpentBlock: string | null }[] };
        tenantContracts: { items: { address: Address; implementation: string; initializedVersion: string }[] };
      }>(
        indexer.url,
        `
          query ($registry: String!) {
            allowances {
              items {
                token
                owner
                spender
                amount
              }
            }
            operatorApprovals {
              items {
                token
                account
                operator
                approved
              }
            }
            tokenClasss(limit: 100) {
              items {
                token
                tokenId
                uri
                maxSupply
              }
            }
            campaigns(where: { registry: $registry }) {
              items {
                campaignId
                budgetSpentBlock
              }
            }
            tenantContracts(limit: 100) {
              items {
                address
                implementation
                initializedVersion
              }
            }
          }
        `,
        { registry: b.campaigns.address.toLowerCase() },
      );

      // 100 approved, 30 spent by transferFrom, which emits no Approval.
      assert.equal(await a.points.read.allowance([alice, bob]), 70n);
      assert.deepEqual(data.allowances.items, [
        { token: a.points.address.toLowerCase(), owner: alice, spender: bob, amount: "70" },
      ]);
      assert.equal(await a.reward.read.isApprovedForAll([alice, business]), true);
      assert.deepEqual(data.operatorApprovals.items, [
        { token: a.reward.address.toLowerCase(), account: alice, operator: business, approved: true },
      ]);

      // Both tenants' reward 1 and status 7 (the base URI: no URI of their own), and A's reward 2.
      assert.equal(data.tokenClasss.items.length, 5);
      for (const row of data.tokenClasss.items) {
        const read = (functionName: "uri" | "maxSupply") =>
          publicClient.readContract({
            abi: rewardTokenAbi, // the status token's classes read the same
            address: row.token as Address,
            functionName,
            args: [BigInt(row.tokenId)],
          });
        assert.deepEqual(
          [row.uri, row.maxSupply],
          [await read("uri"), String(await read("maxSupply"))],
          `class ${row.tokenId} of ${row.token}`,
        );
      }
      const rewardTwo = data.tokenClasss.items.find(
        (row) => row.token === a.reward.address.toLowerCase() && row.tokenId === String(REWARD_ID + 1n),
      );
      assert.equal(rewardTwo?.uri, "ipfs://reward-two");
      assert.ok(data.tokenClasss.items.some((row) => row.uri === "ipfs://rewards/{id}"));

      // Tenant B: its first campaign has budget left, the second spent its one claim.
      assert.deepEqual(data.campaigns.items.map((row) => [row.campaignId, row.budgetSpentBlock]).sort(), [
        ["1", null],
        [String(activity.spentCampaign.id), String(activity.spentCampaign.block)],
      ]);

      // Ten proxies, each initialised once; tenant B's points token now runs PointsTokenV2.
      assert.equal(data.tenantContracts.items.length, 10);
      for (const row of data.tenantContracts.items) {
        const word = await publicClient.getStorageAt({ address: row.address, slot: INITIALIZABLE_SLOT });
        assert.equal(row.initializedVersion, String(hexToBigInt(word!) & maxUint64), row.address);
        assert.equal(row.implementation, (await implementationOf(publicClient, row.address)).toLowerCase());
      }
      assert.ok(data.tenantContracts.items.every((row) => row.initializedVersion === "1"));
      const upgraded = data.tenantContracts.items.find((row) => row.address === b.points.address.toLowerCase());
      assert.equal(upgraded?.implementation, activity.pointsV2.toLowerCase());
    });

    it("keeps the factory's implementations and its owner and pending owner as the chain has them", async () => {
      const { factory, deployment } = activity.protocol;
      const data = await graphql<{
        implementations: {
          items: { kind: keyof typeof ContractKind; implementation: Address; approved: boolean; current: boolean }[];
        };
        tenantFactory: { owner: string; pendingOwner: string | null } | null;
      }>(
        indexer.url,
        `
          query ($chainId: Float!, $factory: String!) {
            implementations(where: { factory: $factory }) {
              items {
                kind
                implementation
                approved
                current
              }
            }
            tenantFactory(chainId: $chainId, address: $factory) {
              owner
              pendingOwner
            }
          }
        `,
        { chainId: localChainId, factory: factory.address.toLowerCase() },
      );
      // The five first implementations, and PointsTokenV2.
      assert.equal(data.implementations.items.length, 6);
      for (const row of data.implementations.items) {
        const kind = ContractKind[row.kind];
        assert.deepEqual(
          [row.approved, row.current],
          [
            await factory.read.isApprovedImplementation([kind, row.implementation]),
            (await factory.read.currentImplementation([kind])).toLowerCase() === row.implementation,
          ],
          `${row.kind} ${row.implementation}`,
        );
      }
      assert.deepEqual(
        data.implementations.items
          .filter((row) => row.kind === "POINTS_TOKEN")
          .map((row) => [row.implementation, row.approved, row.current])
          .sort(),
        [
          [deployment.contracts.implementations.PointsToken.toLowerCase(), true, false],
          [activity.pointsV2.toLowerCase(), true, true],
        ].sort(),
      );
      assert.deepEqual(data.tenantFactory, {
        owner: (await factory.read.owner()).toLowerCase(),
        pendingOwner: (await factory.read.pendingOwner()).toLowerCase(),
      });
      assert.equal(
        data.tenantFactory.pendingOwner,
        activity.protocol.accounts.protocolOwner.account.address.toLowerCase(),
      );
    });

    it("passes the audit: balances, supplies and attributable mints all equal the chain's", async () => {
      const result = await auditThrough(indexer.url);
      assert.deepEqual(result.differences, []);
      assert.equal(result.ok, true);
      // Both tenants' points, tenant A's reward and status ids.
      assert.equal(result.tokens.length, 4);
    });

    it(
      "backfills the same chain afresh to the same rows, with one eth_getLogs per contract kind and range, from a one-byte row cache",
      { timeout: 180_000 },
      async () => {
        // Bury the activity under Ponder's 30-block finality, so that a new indexer backfills all of it.
        // One block at a time: the live indexer follows these, and hardhat_mine's batch of blocks
        // (hashed lazily) sends Ponder's realtime sync looking for a parent at the zero hash.
        for (let i = 0; i < 64; i++) await provider.request({ method: "evm_mine" });
        let backfillOutput = "";
        // A folder of its own: an empty RPC cache, so that every log is fetched from the chain.
        const backfillDir = mkdtempSync(join(tmpdir(), "pers-indexer-backfill-"));
        const backfilled = await startIndexer({
          port: await freePort(),
          schema: `backfill_${process.pid}_${Date.now()}`,
          pgliteDir: backfillDir,
          env: {
            [rpcUrlVariableFor(localChainId)]: rpcUrl,
            PERS_DEPLOYMENTS_DIR: deployments,
            DATABASE_URL: undefined,
            PONDER_LOG_LEVEL: "debug",
            // A row cache too small to keep anything: Ponder reads the rows each batch will touch ahead
            // of it (its prefetch, which patches/ponder+0.16.10.patch changes), as in a large backfill.
            PONDER_CACHE_BYTES: "1",
          },
          onOutput: (text) => (backfillOutput += text),
        }).catch((error: Error) => {
          rmSync(backfillDir, { recursive: true, force: true });
          throw new Error(`${error.message}\n${backfillOutput.slice(-3000)}`);
        });
        try {
          assert.deepEqual(await indexedTransactions(backfilled.url), await indexedTransactions(indexer.url));
          const backfilledAudit = await auditThrough(backfilled.url);
          assert.deepEqual(backfilledAudit.differences, []);
          // Ponder 0.16 asked for each handled event separately (about seventy requests per block
          // range); patches/ponder+0.16.10.patch backports 0.17's fix, which merges the events of
          // each contract kind into one request: six contract kinds, plus the five factory events
          // that name the tenant contracts.
          const ranges = backfillOutput.match(/Fetched block range data/g)?.length ?? 0;
          assert.ok(ranges >= 1, backfillOutput.slice(-3000));
          const metrics = await (await fetch(`${backfilled.url}/metrics`)).text();
          const getLogs = rpcRequestCounts(metrics).eth_getLogs ?? 0;
          assert.ok(getLogs >= ranges && getLogs <= (6 + 5) * ranges, `${getLogs} eth_getLogs for ${ranges} ranges`);
          const prefetched = cacheRequestCounts(metrics, "prefetch");
          assert.ok((prefetched.balance ?? 0) > 0 && (prefetched.transaction ?? 0) > 0, JSON.stringify(prefetched));
        } finally {
          await backfilled.stop();
          rmSync(backfillDir, { recursive: true, force: true });
        }
      },
    );

    it("fails the audit and names the row when an indexed balance is altered", { timeout: 60_000 }, async () => {
      const [a] = activity.tenants;
      const bob = activity.protocol.accounts.bob.account.address.toLowerCase() as Address;
      // Alter the row on its way out of the indexer, the same way on both databases. Embedded PGlite
      // lives inside the indexer's process and takes no second connection. In PostgreSQL a plain
      // UPDATE fails at once: Ponder's live-query trigger writes to a temporary table that exists
      // only in Ponder's own session. With triggers off (session_replication_role = replica) it
      // works and Ponder keeps serving, but then the change is also hidden from Ponder's reorg log.
      const proxy = await startProxy({
        upstream: indexer.url,
        rewrite: (path, body) => {
          if (!path.includes("/balances")) return body;
          const page = JSON.parse(body) as BalancesPage;
          for (const row of page.balances) {
            if (row.owner === bob && row.token === a.points.address.toLowerCase())
              row.amount = String(BigInt(row.amount) + 1n);
          }
          return JSON.stringify(page);
        },
      });
      try {
        const result = await auditThrough(proxy.url);
        assert.equal(result.ok, false);
        const balanceDifference = result.differences.find((d): d is ValueDifference => d.what === "balance");
        assert.ok(balanceDifference, show(result.differences));
        assert.equal(balanceDifference.owner?.toLowerCase(), bob);
        assert.equal(balanceDifference.token.toLowerCase(), a.points.address.toLowerCase());
        assert.equal(balanceDifference.indexed, balanceDifference.chain + 1n);
        assert.ok(result.differences.some((d) => d.what === "sum of balances vs totalSupply"));
      } finally {
        await proxy.close();
      }
    });

    it("fails the audit and names the token when its indexed holders are not its non-zero balances", async () => {
      const [a] = activity.tenants;
      const points = a.points.address.toLowerCase() as Address;
      const proxy = await startProxy({
        upstream: indexer.url,
        rewrite: (path, body) => {
          if (!isTenantSummary(path)) return body;
          const summary = JSON.parse(body) as TenantSummary;
          for (const row of summary.statistics) if (row.token === points) row.holders += 1;
          return JSON.stringify(summary);
        },
      });
      try {
        const result = await auditThrough(proxy.url);
        const holders = result.tokens.find((row) => row.token === points);
        assert.ok(holders && holders.holders > 1, show(result.tokens));
        assert.deepEqual(
          result.differences.map((d) => [d.what, d.token, d.indexed, d.chain]),
          [["holders", points, BigInt(holders.holders), BigInt(holders.holders - 1)]],
          show(result.differences),
        );
        assert.equal(result.ok, false);
      } finally {
        await proxy.close();
      }
    });

    it("fails the audit and names the token when the indexer lost one of the tenant's tokens, or has one the chain has not", async () => {
      const [a] = activity.tenants;
      const reward = a.reward.address.toLowerCase() as Address;
      const stranger = "0x00000000000000000000000000000000000dead1";
      // As if the indexer had never seen tenant A's reward token: no token, no statistics, no balances;
      // and as if it had a points token of tenant A that the factory does not know.
      const proxy = await startProxy({
        upstream: indexer.url,
        rewrite: (path, body) => {
          if (path.includes("/balances")) {
            const page = JSON.parse(body) as BalancesPage;
            return JSON.stringify({ ...page, balances: page.balances.filter((row) => row.token !== reward) });
          }
          if (!isTenantSummary(path)) return body;
          const summary = JSON.parse(body) as TenantSummary;
          if (!summary.tokens.some((row) => row.address === reward)) return body; // tenant B
          const points = summary.tokens.find((row) => row.standard === "ERC20")!;
          return JSON.stringify({
            ...summary,
            tokens: [...summary.tokens.filter((row) => row.address !== reward), { ...points, address: stranger }],
            statistics: summary.statistics.filter((row) => row.token !== reward),
          });
        },
      });
      try {
        const result = await auditThrough(proxy.url);
        assert.deepEqual(
          result.differences.map((d) => [d.what, d.tenantId, d.token, d.indexed, d.chain]),
          [
            ["token", a.tenantId, reward, false, true],
            ["token", a.tenantId, stranger, true, false],
          ],
          show(result.differences),
        );
        assert.equal(result.ok, false);
        assert.match(formatAudit(result), new RegExp(`token ${reward}: on chain, not indexed`));
      } finally {
        await proxy.close();
      }
    });

    it("answers bad input of its REST routes with a 400 problem that names no file, and takes addresses in any case", async () => {
      const [a] = activity.tenants;
      const points = a.points.address;
      const bad = [
        `/audit/2199023255552/${points}`,
        `/audit/2199023255552/${points}/balances`,
        `/audit/0/${points}`,
        `/audit/${localChainId}/${points}/balances?limit=1.5`,
        `/audit/${localChainId}/${points}/balances?limit=0`,
        `/audit/${localChainId}/${points}/balances?limit=5001`,
        `/audit/${localChainId}/${points}/balances?limit=ten`,
        `/audit/${localChainId}/${points}/balances?limit=`,
        `/audit/${localChainId}/${points}/balances?after=${points}:${"9".repeat(100)}:${points}`,
        `/audit/${localChainId}/${points}/balances?after=${points}:1`,
        `/accounts/0x1234/portfolio`,
        `/sql/db?sql=not-json`,
        `/sql/live?sql=not-json`,
        `/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { params: [] } }))}`,
        // superjson that Ponder's parser throws on (a class it does not know overflows its stack)
        ...["db", "live"].map(
          (route) =>
            `/sql/${route}?sql=${encodeURIComponent(JSON.stringify({ json: { sql: "select 1" }, meta: { values: { sql: ["class", "Nope"] } } }))}`,
        ),
      ];
      for (const path of bad) {
        const response = await fetch(`${indexer.url}${path}`);
        const text = await response.text();
        assert.equal(response.status, 400, `${path}: ${text}`);
        assert.equal(response.headers.get("content-type"), "application/problem+json", path);
        assert.doesNotMatch(text, /node_modules|\.[jt]s\b|\/work\//, path);
      }

      const upper = (hex: string) => `0x${hex.slice(2).toUpperCase()}`;
      const alice = activity.protocol.accounts.alice.account.address;
      for (const path of [
        (key: string) => `/audit/${localChainId}/${key}`,
        (key: string) => `/audit/${localChainId}/${key}/balances?limit=2`,
      ]) {
        for (const key of [points, a.tenantId]) {
          const answers = await Promise.all(
            [key.toLowerCase(), upper(key)].map(async (k) => {
              const response = await fetch(`${indexer.url}${path(k)}`);
              return [response.status, await response.json()];
            }),
          );
          assert.equal(answers[0]![0], 200, path(key));
          assert.deepEqual(answers[1], answers[0], path(upper(key)));
        }
      }
      const page = (await (
        await fetch(`${indexer.url}/audit/${localChainId}/${points}/balances?limit=2`)
      ).json()) as BalancesPage;
      assert.equal(page.balances.length, 2);
      assert.notEqual(page.next, null);
      const portfolios = await Promise.all(
        [alice.toLowerCase(), upper(alice)].map(async (k) => {
          const response = await fetch(`${indexer.url}/accounts/${k}/portfolio`);
          return [response.status, await response.json()];
        }),
      );
      assert.equal(portfolios[0]![0], 200);
      assert.deepEqual(portfolios[1], portfolios[0]);
    });

    it("answers a SQL query that fails because of the query with a 400 problem that says why, on /sql/db and /sql/live", async () => {
      // Each route its own queries: Ponder's validator remembers a query it refused, and says only
      // "Invalid query" the next time.
      const faults = (route: string): [string, RegExp][] => [
        // Refused by Ponder's validator...
        [`select pg_sleep(1) as ${route}`, /^Function call not supported$/],
        [`select ${route} from`, /^syntax error at end of input$/],
        // ...and by the database.
        [`select ${route} from "transaction"`, new RegExp(`^column "${route}" does not exist$`)],
        // Once, on PostgreSQL too (Ponder retried it for a minute: see the patch).
        [`select 1 / 0 as ${route}`, /^division by zero$/],
      ];
      for (const route of ["db", "live"] as const) {
        for (const [query, detail] of faults(route)) {
          const response = await fetch(`${indexer.url}${sqlPath(query, route)}`);
          const text = await response.text();
          assert.equal(response.status, 400, `${route} ${query}: ${text}`);
          assert.equal(response.headers.get("content-type"), "application/problem+json", `${route} ${query}`);
          const { detail: said, ...problem } = JSON.parse(text) as { detail: string };
          assert.deepEqual(problem, { type: "/problems/invalid-query", title: "Invalid query", status: 400 });
          assert.match(said, detail, `${route} ${query}`);
        }
      }

      // A query that runs: its answer, and a live query's stream.
      const answer = await fetch(`${indexer.url}${sqlPath("select 1 as one")}`);
      assert.equal(answer.status, 200);
      assert.deepEqual(((await answer.json()) as { rows: unknown[] }).rows, [{ one: 1 }]);
      const controller = new AbortController();
      const live = await fetch(`${indexer.url}${sqlPath('select count(*) from "transaction"', "live")}`, {
        signal: controller.signal,
      });
      assert.equal(live.status, 200);
      assert.equal(live.headers.get("content-type"), "text/event-stream");
      controller.abort();
    });

    it("answers a route it does not have with a 404 problem", async () => {
      for (const path of ["/nope", "/sql/nope", `/accounts/${zeroAddress}`]) {
        const response = await fetch(`${indexer.url}${path}`);
        assert.equal(response.status, 404, path);
        assert.equal(response.headers.get("content-type"), "application/problem+json", path);
        assert.deepEqual(await response.json(), {
          type: "/problems/not-found",
          title: "Not found",
          status: 404,
          detail: "the indexer has no such route",
        });
      }
    });

    // PostgreSQL only: the test makes the database fail the routes' queries (PGlite cannot be locked from outside).
    if (variant.databaseUrl)
      it("answers a database that cannot answer in time with a 503 problem and Retry-After that names nothing inside, and logs it", async () => {
        // The routes' queries wait for a lock the test holds, past the read-only pool's lock_timeout
        // (500 ms), and the database cancels them.
        const locker = new pg.Client({ connectionString: database!.url });
        await locker.connect();
        const alice = activity.protocol.accounts.alice.account.address;
        const portfolio = `/accounts/${alice}/portfolio`;
        try {
          await locker.query("begin");
          await locker.query("lock table e2e.balance in access exclusive mode");
          for (const path of [portfolio, sqlPath("select count(*) from balance")]) {
            const response = await fetch(`${indexer.url}${path}`);
            assert.equal(response.status, 503, path);
            assert.equal(response.headers.get("content-type"), "application/problem+json", path);
            assert.equal(response.headers.get("retry-after"), "1", path);
            assert.deepEqual(await response.json(), {
              type: "/problems/unavailable",
              title: "Unavailable",
              status: 503,
              detail: "the indexer's database could not answer in time; try again shortly",
            });
          }
        } finally {
          await locker.query("rollback");
          await locker.end();
        }
        assert.match(output, new RegExp(`GET ${portfolio} failed:.*lock timeout`, "s"));
        assert.equal((await fetch(`${indexer.url}${portfolio}`)).status, 200);
      });

    it("runs a few SQL queries at a time and turns the next away at once with a 503 problem and Retry-After", async () => {
      // INDEXER_SQL_CONCURRENCY's defaults: one query on embedded PGlite, four on PostgreSQL.
      const limit = variant.databaseUrl ? 4 : 1;
      let salt = Date.now();
      let slowDone = false;
      // Each from a client of its own (127.0.0.1, .2...): one client may hold only half the slots.
      const client = (i: number) => ({ localAddress: `127.0.0.${i + 1}` });
      const slow = Promise.all(
        Array.from({ length: limit }, (_, i) => httpGet(`${indexer.url}${sqlPath(slowQuery(salt++))}`, client(i))),
      ).finally(() => (slowDone = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(slowDone, false, "the slow queries ended before the next ones were sent: make them slower");
      // Two more at once: on PostgreSQL both find every slot taken. PGlite runs the query on the
      // indexer's thread, which reads no request until it ends; then one of the two takes the slot.
      const next = await Promise.all(
        [limit, limit + 1].map((i) => httpGet(`${indexer.url}${sqlPath(slowQuery(salt++))}`, client(i))),
      );
      const answers = [...(await slow), ...next];
      const last = Math.max(...answers.map((answer) => answer.at));

      for (const answer of await slow) assert.equal(answer.status, 200, answer.body);
      const busy = next.filter((answer) => answer.status === 503);
      assert.ok(busy.length >= 1, show(next.map((answer) => [answer.status, answer.body.slice(0, 200)])));
      assert.ok(next.every((answer) => answer.status === 503 || answer.status === 200));
      for (const answer of busy) {
        assert.equal(answer.headers["retry-after"], "1");
        assert.equal(answer.headers["content-type"], "application/problem+json");
        assert.equal((JSON.parse(answer.body) as { status: number }).status, 503);
        // Answered at once, not after waiting its turn.
        assert.ok(answer.at < last, `a 503 came last (${answer.at - last} ms)`);
      }

      // The slots are free again.
      const after = await httpGet(`${indexer.url}${sqlPath('select count(*) from "transaction"')}`);
      assert.equal(after.status, 200, after.body);
      assert.ok(Number((JSON.parse(after.body) as { rows: [{ count: string | number }] }).rows[0].count) > 0);
    });

    it("lets one client run at most half the SQL queries at once, rounded up, and turns its next away with a 429 problem", async () => {
      // Half of INDEXER_SQL_CONCURRENCY's defaults: one of one on embedded PGlite, two of four on PostgreSQL.
      const share = variant.databaseUrl ? 2 : 1;
      let salt = Date.now();
      const mine = () => httpGet(`${indexer.url}${sqlPath(slowQuery(salt++))}`, { localAddress: "127.0.0.10" });
      let slowDone = false;
      const slow = Promise.all(Array.from({ length: share }, mine)).finally(() => (slowDone = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(slowDone, false, "the slow queries ended before the next ones were sent: make them slower");
      // Two more at once from the same client: on PostgreSQL both find it holding its share, with
      // slots free. On PGlite both are read once its query ends; one takes the slot, the other finds
      // the client holding it (a 503 if the rule were only the indexer's limit).
      const next = await Promise.all([mine(), mine()]);
      const answers = [...(await slow), ...next];
      const last = Math.max(...answers.map((answer) => answer.at));

      for (const answer of await slow) assert.equal(answer.status, 200, answer.body);
      const refused = next.filter((answer) => answer.status === 429);
      assert.ok(refused.length >= 1, show(next.map((answer) => [answer.status, answer.body.slice(0, 200)])));
      if (variant.databaseUrl) assert.equal(refused.length, 2);
      assert.ok(next.every((answer) => answer.status === 429 || answer.status === 200));
      for (const answer of refused) {
        assert.equal(answer.headers["retry-after"], "1");
        assert.equal(answer.headers["content-type"], "application/problem+json");
        assert.deepEqual(JSON.parse(answer.body), {
          type: "/problems/too-many-requests",
          title: "Too many requests",
          status: 429,
          detail: `at most ${share} SQL queries at a time from one client`,
        });
        assert.ok(answer.at < last, `a 429 came last (${answer.at - last} ms)`);
      }
    });

    // PostgreSQL only: PGlite has one slot.
    if (variant.databaseUrl)
      it("leaves the other half of the SQL query slots to other clients", async () => {
        // On PostgreSQL, where the indexer's thread is free while queries run: two of four slots taken
        // by one client, the others' queries still run at once.
        let salt = Date.now();
        const slow = Promise.all(
          [0, 1].map(() => httpGet(`${indexer.url}${sqlPath(slowQuery(salt++))}`, { localAddress: "127.0.0.11" })),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        const others = await Promise.all(
          ["127.0.0.12", "127.0.0.13"].map((localAddress) =>
            httpGet(`${indexer.url}${sqlPath("select 3 as three")}`, { localAddress }),
          ),
        );
        const slowAnswers = await slow;
        for (const answer of [...slowAnswers, ...others]) assert.equal(answer.status, 200, answer.body);
        const slowEnd = Math.min(...slowAnswers.map((answer) => answer.at));
        for (const answer of others) assert.ok(answer.at < slowEnd, "another client's query waited for the slow ones");
      });

    it("frees a query's slot when the query fails or its client goes away", { timeout: 60_000 }, async () => {
      const limit = variant.databaseUrl ? 4 : 1;
      // A query that does not parse, one Ponder's validator refuses and one the database refuses, each
      // as many times as there are slots.
      for (const query of ["select * from", "select pg_sleep(1)", "select 1 / 0"]) {
        for (let i = 0; i < limit; i++) {
          const failed = await httpGet(`${indexer.url}${sqlPath(query)}`);
          assert.equal(failed.status, 400, failed.body);
        }
      }
      const afterFailures = await httpGet(`${indexer.url}${sqlPath("select 1 as one")}`);
      assert.equal(afterFailures.status, 200, afterFailures.body);

      // Clients that hang up while their slow queries run: the slots come back when the queries end.
      const controller = new AbortController();
      const abandoned = Array.from({ length: limit }, (_, i) =>
        httpGet(`${indexer.url}${sqlPath(slowQuery(Date.now() + i))}`, {
          signal: controller.signal,
          localAddress: `127.0.0.${i + 1}`,
        }).then(
          () => assert.fail("the request was not aborted"),
          (error: Error) => assert.equal(error.name, "AbortError"),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort();
      await Promise.all(abandoned);
      const statuses: number[] = [];
      const deadline = Date.now() + 30_000;
      while (statuses.at(-1) !== 200 && Date.now() < deadline) {
        statuses.push((await httpGet(`${indexer.url}${sqlPath("select 2 as two")}`)).status);
        if (statuses.at(-1) !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.equal(statuses.at(-1), 200, statuses.join());
      // Not before they end: on PostgreSQL the indexer's thread is free to see them still running.
      // (On PGlite it is not: the next request is read only once the query is over.)
      if (variant.databaseUrl) assert.equal(statuses[0], 503, statuses.join());
    });

    it(
      "turns away a client past INDEXER_SQL_PER_MINUTE with a 429 problem, by its connection's address",
      { timeout: 180_000 },
      async () => {
        // An indexer of its own with a small limit (embedded PGlite in a folder of its own).
        const limitedDir = mkdtempSync(join(tmpdir(), "pers-indexer-sql-limit-"));
        let limitedOutput = "";
        const limited = await startIndexer({
          port: await freePort(),
          schema: "sql_limit",
          pgliteDir: limitedDir,
          env: {
            [rpcUrlVariableFor(localChainId)]: rpcUrl,
            PERS_DEPLOYMENTS_DIR: deployments,
            DATABASE_URL: undefined,
            INDEXER_SQL_PER_MINUTE: "5",
          },
          onOutput: (text) => (limitedOutput += text),
        }).catch((error: Error) => {
          rmSync(limitedDir, { recursive: true, force: true });
          throw new Error(`${error.message}\n${limitedOutput.slice(-3000)}`);
        });
        try {
          const url = (path: string) => `${limited.url}${path}`;
          // Five requests to /sql/*, answered or not: every one counts.
          const allowed = [
            await httpGet(url(sqlPath("select 1 as one"))),
            await httpGet(url(sqlPath("select 1 as one"))),
            await httpGet(url("/sql/db?sql=not-json")),
            await httpGet(url("/sql/live?sql=not-json")),
            await httpGet(url(sqlPath("select 1 as one"))),
          ];
          assert.deepEqual(
            allowed.map((answer) => answer.status),
            [200, 200, 400, 400, 200],
          );
          // The sixth, whatever address the client claims in X-Forwarded-For.
          for (const path of [sqlPath("select 1 as one"), "/sql/live?sql=not-json"]) {
            const refused = await httpGet(url(path), { headers: { "x-forwarded-for": "203.0.113.7" } });
            assert.equal(refused.status, 429, `${path}: ${refused.body}`);
            assert.equal(refused.headers["content-type"], "application/problem+json");
            const retryAfter = Number(refused.headers["retry-after"]);
            assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${refused.headers["retry-after"]}`);
            assert.equal((JSON.parse(refused.body) as { status: number }).status, 429);
          }
          // Another client address still may; GraphQL and the REST routes are not counted.
          const other = await httpGet(url(sqlPath("select 1 as one")), { localAddress: "127.0.0.2" });
          assert.equal(other.status, 200, other.body);
          assert.equal((await httpGet(url("/status"))).status, 200);
          const portfolio = await httpGet(
            url(`/accounts/${activity.protocol.accounts.alice.account.address}/portfolio`),
          );
          assert.equal(portfolio.status, 200, portfolio.body);
        } finally {
          await limited.stop();
          rmSync(limitedDir, { recursive: true, force: true });
        }
      },
    );

    it("follows a reorg: the replaced blocks' movements disappear and the new chain's appear, with no ghost", async () => {
      const [a] = activity.tenants;
      const { publicClient, accounts } = activity.protocol;
      const [alice, bob] = [accounts.alice.account.address, accounts.bob.account.address];
      const start = await now(activity.protocol);
      const createHash = await a.campaigns.write.createCampaign([
        { start, end: start + DAY, perUserLimit: 5, budget: 100n },
        [{ token: a.points.address, id: 0n, amount: 7n }],
      ]);
      const created = await publicClient.waitForTransactionReceipt({ hash: createHash });
      const campaignId = parseEventLogs({
        abi: campaignRegistryAbi,
        eventName: "CampaignCreated",
        logs: created.logs,
      })[0]!.args.campaignId;
      const snapshot = await provider.request({ method: "evm_snapshot" });

      // The chain the indexer sees first: a claim for alice, indexed.
      const ghost = await a.campaigns.write.claim([claimRequest(campaignId, 100n, alice)]);
      await publicClient.waitForTransactionReceipt({ hash: ghost });
      await waitForIndexedTransaction(indexer.url, ghost);

      // Replace it: back to the snapshot, then a different claim (for bob) and two more blocks.
      assert.equal(await provider.request({ method: "evm_revert", params: [snapshot] }), true);
      const replacement = await a.campaigns.write.claim([claimRequest(campaignId, 100n, bob)]);
      await publicClient.waitForTransactionReceipt({ hash: replacement });
      await provider.request({ method: "hardhat_mine", params: ["0x2"] });
      await waitForIndexedTransaction(indexer.url, replacement);

      const rows = await indexedTransactions(indexer.url);
      assert.equal(rows.filter((row) => row.transactionHash === ghost.toLowerCase()).length, 0);
      assert.deepEqual(
        rows
          .filter((row) => row.transactionHash === replacement.toLowerCase())
          .map((row) => [row.to, row.amount, row.cause]),
        [[bob.toLowerCase(), "7", "CLAIM"]],
      );
      const claims = await graphql<{ claims: { items: { recipient: string }[] } }>(
        indexer.url,
        `
          query ($registry: String!) {
            claims(where: { registry: $registry, claimId: "100" }) {
              items {
                recipient
              }
            }
          }
        `,
        { registry: a.campaigns.address.toLowerCase() },
      );
      assert.deepEqual(claims.claims.items, [{ recipient: bob.toLowerCase() }]);
      assert.deepEqual(
        await indexedTransactions(indexer.url).then((all) => all.length),
        (await chainMovements(activity)).length,
      );
      const result = await auditThrough(indexer.url);
      assert.deepEqual(result.differences, []);
    });

    it("records no balance, statistics or transaction for a transfer of nothing", async () => {
      const [a] = activity.tenants;
      const { publicClient, accounts } = activity.protocol;
      const alice = accounts.alice.account.address;
      const bob = accounts.bob.account.address;
      const outsider = accounts.outsider.account.address;
      const before = await auditThrough(indexer.url);
      // Anyone can log these: 300 reward ids that nobody holds, moved from and to oneself; an id
      // nobody holds, and points nobody has, given away; and a points transfer out of someone
      // else's account (with no allowance: it moves nothing), the stuff of address poisoning.
      const ids = Array.from({ length: 300 }, (_, i) => 1000n + BigInt(i));
      const asOutsider = { account: accounts.outsider.account };
      const nothing = [
        await a.reward.write.safeBatchTransferFrom([outsider, outsider, ids, ids.map(() => 0n), "0x"], asOutsider),
        await a.reward.write.safeTransferFrom([outsider, bob, 999n, 0n, "0x"], asOutsider),
        await a.points.write.transfer([bob, 0n], asOutsider),
        await a.points.write.transferFrom([alice, outsider, 0n], asOutsider),
      ];
      for (const hash of nothing)
        assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success");
      // A movement of value after them: once it is indexed, so are they.
      const marker = await a.points.write.transfer([bob, 1n], { account: accounts.alice.account });
      await publicClient.waitForTransactionReceipt({ hash: marker });
      await waitForIndexedTransaction(indexer.url, marker);

      const data = await graphql<{
        tokenStatisticss: { items: { tokenId: string; holders: number }[] };
        balances: { items: { token: string; tokenId: string; amount: string }[] };
        transactions: { items: { transactionHash: string }[] };
      }>(
        indexer.url,
        `
          query ($reward: String!, $outsider: String!, $hashes: [String!]) {
            tokenStatisticss(where: { token: $reward }) {
              items {
                tokenId
                holders
              }
            }
            balances(where: { owner: $outsider }) {
              items {
                token
                tokenId
                amount
              }
            }
            transactions(where: { transactionHash_in: $hashes }) {
              items {
                transactionHash
              }
            }
          }
        `,
        {
          reward: a.reward.address.toLowerCase(),
          outsider: outsider.toLowerCase(),
          hashes: nothing.map((hash) => hash.toLowerCase()),
        },
      );
      assert.deepEqual(
        data.tokenStatisticss.items.map((row) => row.tokenId),
        [String(REWARD_ID)],
      );
      assert.deepEqual(data.balances.items, []);
      assert.deepEqual(data.transactions.items, []);
      const result = await auditThrough(indexer.url);
      assert.deepEqual(result.differences, []);
      assert.deepEqual(
        result.tokens.map((row) => [row.token, row.tokenId, row.holders]),
        before.tokens.map((row) => [row.token, row.tokenId, row.holders]),
      );
    });

    it("reads a page of holders' balances from the chain in one eth_call", async () => {
      const [, b] = activity.tenants;
      const { publicClient } = activity.protocol;
      // 80 new holders of tenant B's points, from its first campaign (100 claims' budget, 2 spent).
      const recipients = Array.from({ length: 80 }, (_, i) => keccak256(toHex(`holder-${i}`)).slice(0, 42) as Address);
      const hash = await b.campaigns.write.claimBatch([
        recipients.map((recipient, i) => claimRequest(1n, 1000n + BigInt(i), recipient)),
      ]);
      assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success");
      await waitForIndexedTransaction(indexer.url, hash);

      const rpc = await startProxy({ upstream: rpcUrl });
      try {
        const result = await auditThrough(indexer.url, { rpcUrl: rpc.url, tenant: b.tenantId });
        assert.deepEqual(result.differences, []);
        const points = result.tokens.find((row) => row.token === b.points.address.toLowerCase());
        assert.ok(points && points.holders >= 80, show(result.tokens));
        // One for the tenant's tokens, one for the page of balances (fewer than 500), one for the supplies.
        assert.equal(rpc.rpcMethods.filter((method) => method === "eth_call").length, 3, rpc.rpcMethods.join());
      } finally {
        await rpc.close();
      }
    });
  });
}
