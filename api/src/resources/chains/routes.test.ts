import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { callersOf, type Callers } from "../../../test/levelCallers.ts";
import { faultyChain, silentRpc, type FaultyChain } from "../../../test/chains.ts";
import {
  createTestTenant,
  isProblem,
  PLATFORM_KEY,
  startTestApi,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { ConfigError, readConfig } from "../../config.ts";

const CHAIN_ID = 31337;
const DOWN_CHAIN_ID = 999;

let base: TestChain;
let chain: FaultyChain;
before(async () => {
  base = await startTestChain();
  chain = faultyChain(base);
  chain.addUnreachableChain(DOWN_CHAIN_ID);
});
after(async () => base.close());

for (const database of testDatabases()) {
  describe(`/chains on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let callers: Callers;

    before(async () => {
      api = await startTestApiOn(database, { chain });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      callers = await callersOf(api, a);
    });
    after(() => api.close());

    it("reports each chain's head, gas price and the platform signer's balance as the chain has them", async () => {
      const { publicClient, walletClient } = base.chains.get(CHAIN_ID)!;
      const answer = await api.request("GET", "/chains", callers.ADMIN.credential);
      assert.equal(answer.status, 200, answer.text);
      const [local, down, ...rest] = answer.body.data;
      assert.equal(rest.length, 0);
      const signer = walletClient.account.address;
      assert.deepEqual(local, {
        chainId: CHAIN_ID,
        status: "ok",
        headBlock: Number(await publicClient.getBlockNumber({ cacheTime: 0 })),
        gasPrice: (await publicClient.getGasPrice()).toString(),
        lowBalanceThreshold: "50000000000000000",
        signers: [
          { address: signer, balance: (await publicClient.getBalance({ address: signer })).toString(), low: false },
        ],
      });
      assert.ok(local.headBlock > 0, "the protocol and two tenants were deployed");
      assert.equal(down.chainId, DOWN_CHAIN_ID);
      assert.equal(down.status, "unavailable");
      assert.match(down.detail, /999/);
      assert.equal(down.signers.length, 1);
      assert.match(down.signers[0].address, /^0x[0-9a-fA-F]{40}$/);
      assert.ok(!answer.text.includes("127.0.0.1"), "the RPC URL stays private");
    });

    it("reads one chain; an unknown chain is a 404, a bad id a 400", async () => {
      const local = await api.request("GET", `/chains/${CHAIN_ID}`, callers.SYSTEM.credential);
      assert.equal(local.status, 200, local.text);
      assert.equal(local.body.status, "ok");
      assert.equal(local.body.chainId, CHAIN_ID);
      const down = await api.request("GET", `/chains/${DOWN_CHAIN_ID}`, { apiKey: PLATFORM_KEY });
      assert.equal(down.status, 200);
      assert.equal(down.body.status, "unavailable");
      const unknown = await api.request("GET", "/chains/5", callers.ADMIN.credential);
      assert.equal(unknown.status, 404);
      assert.ok(isProblem(unknown));
      const bad = await api.request("GET", "/chains/mainnet", callers.ADMIN.credential);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errors[0].path, "params.chainId");
    });

    it("admits ADMIN, SYSTEM and the platform; USER, BUSINESS and the project key are refused", async () => {
      for (const credential of [callers.ADMIN.credential, callers.SYSTEM.credential, { apiKey: PLATFORM_KEY }]) {
        const answer = await api.request("GET", "/chains", credential);
        assert.equal(answer.status, 200);
        assert.equal(answer.body.data[0].chainId, CHAIN_ID);
      }
      for (const credential of [callers.USER.credential, callers.BUSINESS.credential, { projectKey: a.projectKey }]) {
        for (const path of ["/chains", `/chains/${CHAIN_ID}`]) {
          const answer = await api.request("GET", path, credential);
          assert.equal(answer.status, 403, `${path} ${JSON.stringify(credential).slice(0, 12)}`);
          assert.ok(isProblem(answer));
          assert.ok(!("data" in answer.body));
        }
      }
      assert.equal((await api.request("GET", "/chains")).status, 401);
    });

    it("isolation: the chains' view carries no tenant's data", async () => {
      for (const caller of [callers.ADMIN, callers.SYSTEM]) {
        const answer = await api.request("GET", "/chains", caller.credential);
        for (const value of [b.id, b.projectKey, b.tenant.adminAddress, ...Object.values(b.tenant.contracts)]) {
          if (value === b.tenant.contracts.tenantFactory || value === b.tenant.contracts.forwarder) continue;
          assert.ok(!answer.text.includes(value as string), `${caller.level} saw ${value}`);
        }
      }
    });

    it("flags a signer whose balance is under SIGNER_LOW_BALANCE_WEI", async () => {
      const { publicClient, walletClient } = base.chains.get(CHAIN_ID)!;
      const balance = await publicClient.getBalance({ address: walletClient.account.address });
      const strict = await startTestApi({
        database: { kind: "memory" },
        chain: base,
        environment: { SIGNER_LOW_BALANCE_WEI: (balance + 1n).toString() },
      });
      try {
        const answer = await strict.request("GET", `/chains/${CHAIN_ID}`, { apiKey: PLATFORM_KEY });
        assert.equal(answer.status, 200);
        assert.equal(answer.body.signers[0].low, true);
        assert.equal(answer.body.lowBalanceThreshold, (balance + 1n).toString());
      } finally {
        await strict.close();
      }
      assert.throws(
        () => readConfig({ MASTER_KEY: "11".repeat(32), SIGNER_LOW_BALANCE_WEI: "0.5 ether" }),
        (error: unknown) => error instanceof ConfigError && /SIGNER_LOW_BALANCE_WEI/.test(error.message),
      );
    });
    it("reports a chain that hangs as unavailable within CHAIN_READ_TIMEOUT_MS", async () => {
      const rpc = await silentRpc();
      const hanging = faultyChain(base);
      hanging.addUnreachableChain(998, rpc.url);
      const patient = await startTestApi({
        database: { kind: "memory" },
        chain: hanging,
        environment: { CHAIN_READ_TIMEOUT_MS: "300" },
      });
      try {
        const started = Date.now();
        const answer = await patient.request("GET", "/chains", { apiKey: PLATFORM_KEY });
        const elapsed = Date.now() - started;
        assert.equal(answer.status, 200);
        assert.deepEqual(
          answer.body.data.map((entry: { chainId: number; status: string }) => [entry.chainId, entry.status]),
          [
            [CHAIN_ID, "ok"],
            [998, "unavailable"],
          ],
        );
        assert.ok(elapsed < 3000, `answered after ${elapsed} ms`);
      } finally {
        await patient.close();
        await rpc.close();
      }
    });
  });
}
