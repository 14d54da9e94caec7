import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keccak256, stringToHex, type Address, type Hex } from "viem";
import { IssueReason } from "../../../../abi/enums.ts";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { rewardTokenAbi } from "../../../../abi/rewardToken.ts";
import { statusTokenAbi } from "../../../../abi/statusToken.ts";
import { tenantFactoryAbi } from "../../../../abi/tenantFactory.ts";
import { callersOf, everyLevel, type Callers } from "../../../test/levelCallers.ts";
import { faultyChain, hardhatWallet, type FaultyChain } from "../../../test/chains.ts";
import { node } from "../../../test/relay.ts";
import {
  createTestTenant,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";

const CHAIN_ID = 31337;
const B_CLASS_URI = "https://bravo-secret.example/class/3.json";

let base: TestChain;
let chain: FaultyChain;
before(async () => {
  base = await startTestChain();
  chain = faultyChain(base);
});
after(async () => base.close());

const ref = (label: string) => keccak256(stringToHex(`${label}:${Math.random()}`));

for (const database of testDatabases()) {
  describe(`/tokens on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let callers: Callers;
    let milesAddress: Address;
    const holder = "0x1000000000000000000000000000000000000001" as const;

    const clients = () => base.chains.get(CHAIN_ID)!;
    const send = async (hash: Promise<Hex>) => {
      const receipt = await clients().publicClient.waitForTransactionReceipt({ hash: await hash });
      assert.equal(receipt.status, "success");
    };

    before(async () => {
      api = await startTestApiOn(database, { chain });
      const admin = hardhatWallet(base, 5);
      a = await createTestTenant(api, {
        adminAddress: admin.account.address,
        rewardUri: "https://alpha.example/rewards/{id}.json",
      });
      b = await createTestTenant(api, { points: { name: "Bravo Secret Points", symbol: "BSP" } });
      callers = await callersOf(api, a);

      // The platform (operator: campaign manager and issuer) defines classes and issues; the tenant's
      // own admin adds a second points token and pauses it.
      const platform = clients().walletClient;
      const aSuite = a.tenant.contracts;
      const define = (token: Address, abi: typeof rewardTokenAbi, id: bigint, maxSupply: bigint, uri: string) =>
        send(platform.writeContract({ address: token, abi, functionName: "defineClass", args: [id, maxSupply, uri] }));
      await define(aSuite.rewardToken, rewardTokenAbi, 1n, 100n, "https://alpha.example/one.json");
      await define(aSuite.rewardToken, rewardTokenAbi, 2n, 0n, "");
      // Raising a class's cap and changing its URI take the tenant's admin (with the campaign manager role).
      const campaignManager = await clients().publicClient.readContract({
        address: aSuite.rewardToken,
        abi: rewardTokenAbi,
        functionName: "CAMPAIGN_MANAGER_ROLE",
      });
      await send(
        admin.writeContract({
          address: aSuite.rewardToken,
          abi: rewardTokenAbi,
          functionName: "grantRole",
          args: [campaignManager, admin.account.address],
        }),
      );
      await send(
        admin.writeContract({
          address: aSuite.rewardToken,
          abi: rewardTokenAbi,
          functionName: "defineClass",
          args: [1n, 200n, "https://alpha.example/one-v2.json"],
        }),
      );
      await define(aSuite.statusToken, statusTokenAbi as never, 7n, 1n, "https://alpha.example/gold.json");
      await define(b.tenant.contracts.rewardToken, rewardTokenAbi, 3n, 9n, B_CLASS_URI);
      await send(
        platform.writeContract({
          address: aSuite.rewardToken,
          abi: rewardTokenAbi,
          functionName: "issue",
          args: [holder, 1n, 5n, IssueReason.GRANT, ref("reward")],
        }),
      );
      await send(
        platform.writeContract({
          address: aSuite.pointsToken,
          abi: pointsTokenAbi,
          functionName: "issue",
          args: [holder, 1234n, IssueReason.PURCHASE, ref("points")],
        }),
      );
      await send(
        admin.writeContract({
          address: aSuite.tenantFactory,
          abi: tenantFactoryAbi,
          functionName: "addPointsToken",
          args: [
            a.tenant.onchainId,
            { name: "Miles", symbol: "MLS", decimals: 2, issuers: [platform.account.address] },
          ],
        }),
      );
      const tokens = await clients().publicClient.readContract({
        address: aSuite.tenantFactory,
        abi: tenantFactoryAbi,
        functionName: "getPointsTokens",
        args: [a.tenant.onchainId],
      });
      milesAddress = tokens[1]!;
      await send(admin.writeContract({ address: milesAddress, abi: pointsTokenAbi, functionName: "pause" }));
    });
    after(() => api.close());

    /** What the chain itself says about a points token. */
    const pointsOnChain = async (address: Address) => {
      const read = <F extends "name" | "symbol" | "decimals" | "totalSupply" | "paused">(functionName: F) =>
        clients().publicClient.readContract({ address, abi: pointsTokenAbi, functionName });
      return {
        name: await read("name"),
        symbol: await read("symbol"),
        decimals: await read("decimals"),
        totalSupply: (await read("totalSupply")).toString(),
        paused: await read("paused"),
      };
    };

    const classOnChain = async (address: Address, id: bigint) => {
      const { publicClient } = clients();
      const read = (functionName: "uri" | "maxSupply" | "totalSupply") =>
        publicClient.readContract({ address, abi: rewardTokenAbi, functionName, args: [id] } as never) as Promise<
          string | bigint
        >;
      return {
        id: id.toString(),
        uri: String(await read("uri")),
        maxSupply: String(await read("maxSupply")),
        supply: String(await read("totalSupply")),
      };
    };

    it("lists the tenant's tokens with the values the chain holds", async () => {
      const answer = await api.request("GET", "/tokens", { projectKey: a.projectKey });
      assert.equal(answer.status, 200, answer.text);
      const [points, miles, reward, status, ...rest] = answer.body.data;
      assert.equal(rest.length, 0);

      assert.deepEqual(points, {
        type: "POINTS",
        address: a.tenant.contracts.pointsToken,
        chainId: CHAIN_ID,
        index: 0,
        ...(await pointsOnChain(a.tenant.contracts.pointsToken)),
      });
      assert.equal(points.totalSupply, "1234");
      assert.equal(points.symbol, "PTS");
      assert.equal(points.paused, false);

      assert.deepEqual(miles, {
        type: "POINTS",
        address: milesAddress,
        chainId: CHAIN_ID,
        index: 1,
        ...(await pointsOnChain(milesAddress)),
      });
      assert.equal(miles.name, "Miles");
      assert.equal(miles.decimals, 2);
      assert.equal(miles.paused, true);

      assert.equal(reward.type, "REWARD");
      assert.equal(reward.address, a.tenant.contracts.rewardToken);
      assert.equal(reward.paused, false);
      // Class 1 was defined twice: listed once, with its latest values.
      assert.deepEqual(reward.classes, [
        await classOnChain(a.tenant.contracts.rewardToken, 1n),
        await classOnChain(a.tenant.contracts.rewardToken, 2n),
      ]);
      assert.deepEqual(reward.classes[0], {
        id: "1",
        uri: "https://alpha.example/one-v2.json",
        maxSupply: "200",
        supply: "5",
      });
      assert.equal(reward.classes[1].uri, "https://alpha.example/rewards/{id}.json", "no class URI: the base URI");

      assert.equal(status.type, "STATUS");
      assert.deepEqual(status.classes, [
        { id: "7", uri: "https://alpha.example/gold.json", maxSupply: "1", supply: "0" },
      ]);
      assert.ok(!answer.text.includes(B_CLASS_URI));
      assert.ok(!answer.text.includes("Bravo"));
    });

    it("answers every level of the tenant alike, 401 without a credential, 403 to the platform", async () => {
      const reference = await api.request("GET", "/tokens", { projectKey: a.projectKey });
      for (const caller of everyLevel(callers)) {
        const answer = await api.request("GET", "/tokens", caller.credential);
        assert.equal(answer.status, 200, `${caller.level}: ${answer.text}`);
        assert.deepEqual(answer.body, reference.body, caller.level);
      }
      const anonymous = await api.request("GET", "/tokens");
      assert.equal(anonymous.status, 401);
      assert.ok(isProblem(anonymous));
      const platform = await api.request("GET", "/tokens", { apiKey: PLATFORM_KEY });
      assert.equal(platform.status, 403);
      assert.ok(isProblem(platform));
      const unknown = await api.request("GET", "/tokens", { projectKey: "pers_pk_nonesuch" });
      assert.equal(unknown.status, 401);
    });

    it("reads one token by address (in any letter case) and refuses what is not an address", async () => {
      const miles = await api.request("GET", `/tokens/${milesAddress.toLowerCase()}`, { projectKey: a.projectKey });
      assert.equal(miles.status, 200, miles.text);
      assert.equal(miles.body.address, milesAddress);
      assert.equal(miles.body.index, 1);
      assert.deepEqual(
        { name: miles.body.name, symbol: miles.body.symbol, decimals: miles.body.decimals, paused: miles.body.paused },
        { name: "Miles", symbol: "MLS", decimals: 2, paused: true },
      );
      const status = await api.request("GET", `/tokens/${a.tenant.contracts.statusToken}`, callers.USER.credential);
      assert.equal(status.status, 200);
      assert.equal(status.body.type, "STATUS");
      assert.equal(status.body.classes[0].id, "7");

      const bad = await api.request("GET", "/tokens/0x1234", { projectKey: a.projectKey });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errors[0].path, "params.address");
      const stranger = await api.request("GET", `/tokens/${holder}`, { projectKey: a.projectKey });
      assert.equal(stranger.status, 404);
      assert.equal(stranger.body.type, "/problems/not-found");
      // A tenant contract that is not a token is not a token either.
      const registry = await api.request("GET", `/tokens/${a.tenant.contracts.campaignRegistry}`, {
        projectKey: a.projectKey,
      });
      assert.equal(registry.status, 404);
    });

    it("reads one class; an undefined class, a points token's class or a bad id are refused", async () => {
      const reward = a.tenant.contracts.rewardToken;
      const one = await api.request("GET", `/tokens/${reward}/classes/1`, callers.BUSINESS.credential);
      assert.equal(one.status, 200, one.text);
      assert.deepEqual(one.body, await classOnChain(reward, 1n));
      assert.equal(one.body.supply, "5");
      const undefinedClass = await api.request("GET", `/tokens/${reward}/classes/99`, { projectKey: a.projectKey });
      assert.equal(undefinedClass.status, 404);
      assert.ok(isProblem(undefinedClass));
      const points = await api.request("GET", `/tokens/${a.tenant.contracts.pointsToken}/classes/0`, {
        projectKey: a.projectKey,
      });
      assert.equal(points.status, 404);
      const badId = await api.request("GET", `/tokens/${reward}/classes/one`, { projectKey: a.projectKey });
      assert.equal(badId.status, 400);
      assert.equal(badId.body.errors[0].path, "params.id");
      const anonymous = await api.request("GET", `/tokens/${reward}/classes/1`);
      assert.equal(anonymous.status, 401);
    });

    it("answers 503 (a problem, never a 500) while the chain does not answer", async () => {
      chain.breakChain(CHAIN_ID);
      try {
        for (const path of [
          "/tokens",
          `/tokens/${a.tenant.contracts.pointsToken}`,
          `/tokens/${a.tenant.contracts.rewardToken}`,
          `/tokens/${a.tenant.contracts.rewardToken}/classes/1`,
        ]) {
          const answer = await api.request("GET", path, { projectKey: a.projectKey });
          assert.equal(answer.status, 503, `${path}: ${answer.text}`);
          assert.ok(isProblem(answer));
          assert.equal(answer.body.type, "/problems/unavailable");
          assert.ok(!answer.text.includes("127.0.0.1"), "the RPC URL stays private");
        }
      } finally {
        chain.restore(CHAIN_ID);
      }
      assert.equal((await api.request("GET", "/tokens", { projectKey: a.projectKey })).status, 200);
    });

    it("isolation: no caller of tenant A reads tenant B's tokens or classes", async () => {
      const bSuite = b.tenant.contracts;
      const own = await api.request("GET", `/tokens/${bSuite.rewardToken}/classes/3`, { projectKey: b.projectKey });
      assert.equal(own.status, 200, "B itself reads its class");
      assert.equal(own.body.uri, B_CLASS_URI);
      const paths = [
        `/tokens/${bSuite.pointsToken}`,
        `/tokens/${bSuite.rewardToken}`,
        `/tokens/${bSuite.statusToken}`,
        `/tokens/${bSuite.rewardToken}/classes/3`,
      ];
      for (const credential of [{ projectKey: a.projectKey }, ...everyLevel(callers).map((c) => c.credential)]) {
        for (const path of paths) {
          const answer = await api.request("GET", path, credential);
          assert.equal(answer.status, 404, `${JSON.stringify(credential).slice(0, 20)} ${path}`);
          assert.ok(!answer.text.includes(B_CLASS_URI));
          assert.ok(!answer.text.includes("Bravo"));
        }
        const list = await api.request("GET", "/tokens", credential);
        for (const address of Object.values(bSuite) as string[]) {
          if (address === bSuite.tenantFactory || address === bSuite.forwarder) continue;
          assert.ok(!list.text.includes(address), `B's ${address} in A's list`);
        }
      }
    });

    it("searches class definitions from the tenant's creation once, then only the blocks not yet final", async () => {
      const publicClient = clients().publicClient;
      const searched: { from: bigint; to: bigint }[] = [];
      const getContractEvents = publicClient.getContractEvents;
      publicClient.getContractEvents = ((parameters: { fromBlock: bigint; toBlock: bigint }) => {
        searched.push({ from: parameters.fromBlock, to: parameters.toBlock });
        return getContractEvents(parameters as never);
      }) as never;
      try {
        const classIds = async () => {
          const answer = await api.request("GET", `/tokens/${a.tenant.contracts.rewardToken}`, {
            projectKey: a.projectKey,
          });
          assert.equal(answer.status, 200, answer.text);
          return answer.body.classes.map((item: { id: string }) => item.id);
        };
        const read = () => {
          searched.length = 0;
          return classIds();
        };
        const created = await publicClient.getTransactionReceipt({ hash: a.tenant.creationTransaction as Hex });
        // viem keeps a block number for its polling interval (200 ms): the API must see the new head.
        const newHeadSeen = () => new Promise((resolve) => setTimeout(resolve, 300));
        await node(base).mine(200);
        await newHeadSeen();
        // Two reads at once: one search of the history, from the tenant's creation.
        searched.length = 0;
        assert.deepEqual(await Promise.all([classIds(), classIds()]), [
          ["1", "2"],
          ["1", "2"],
        ]);
        assert.equal(searched.filter((range) => range.from === created.blockNumber).length, 1);
        // The next read searches only the last 64 blocks, which may still change.
        assert.deepEqual(await read(), ["1", "2"]);
        assert.equal(searched.length, 1);
        assert.equal(searched[0]!.to - searched[0]!.from + 1n, 64n);
        assert.ok(searched[0]!.from > created.blockNumber + 100n);
        // A class defined since is found there.
        await send(
          clients().walletClient.writeContract({
            address: a.tenant.contracts.rewardToken,
            abi: rewardTokenAbi,
            functionName: "defineClass",
            args: [9n, 1n, ""],
          }),
        );
        await newHeadSeen();
        assert.deepEqual(await read(), ["1", "2", "9"]);
      } finally {
        publicClient.getContractEvents = getContractEvents;
      }
    });
  });
}
