import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import {
  createTestTenant,
  insertUser,
  isProblem,
  startTestApi,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { holdings, issuePoints, relayForwardJobs } from "../../../test/forwardRelay.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/transactions and /balances on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let a: TestTenant;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      // No indexer listens here: reads from it are 503.
      api = await startTestApi({
        database: opened.parameters,
        chain,
        environment: { INDEXER_URL: "http://127.0.0.1:9", INDEXER_TIMEOUT_MS: "1000" },
      });
      a = await createTestTenant(api);
    });
    after(async () => {
      await api.close();
      await drop();
    });

    it("transfers and burns a custodial user's points through the forwarder; unconfirmed requests are pending", async () => {
      const sender = await insertUser(api, a.id, { email: "sender@tx.test" });
      const receiver = await insertUser(api, a.id, { email: "receiver@tx.test" });
      await issuePoints(chain, a.tenant, sender.user.walletAddress as Address, 100n);
      const transfer = await api.request("POST", "/transactions", {
        token: sender.token,
        body: { type: "TRANSFER", toUserId: receiver.user.id, amount: "30" },
      });
      assert.equal(transfer.status, 202, transfer.text);
      assert.equal(transfer.body.status, "PENDING");
      assert.equal(transfer.body.to, receiver.user.walletAddress);
      const burn = await api.request("POST", "/transactions", {
        token: sender.token,
        body: { type: "BURN", amount: "20" },
      });
      assert.equal(burn.status, 202, burn.text);
      const tooMuch = await api.request("POST", "/transactions", {
        token: sender.token,
        body: { type: "BURN", amount: "1000" },
      });
      assert.equal(tooMuch.status, 422);
      assert.match(tooMuch.body.detail, /ERC20InsufficientBalance/);

      await relayForwardJobs(api, chain);
      for (const id of [transfer.body.id, burn.body.id]) {
        const read = await api.request("GET", `/transactions/${id}`, { token: sender.token });
        assert.equal(read.body.status, "COMPLETED", read.text);
      }
      assert.equal(
        (await api.request("GET", `/transactions/${transfer.body.id}`, { token: receiver.token })).status,
        404,
      );
      assert.deepEqual(await holdings(chain, a.tenant, sender.user.walletAddress as Address), {
        points: 50n,
        rewards: 0n,
      });
      assert.deepEqual(await holdings(chain, a.tenant, receiver.user.walletAddress as Address), {
        points: 30n,
        rewards: 0n,
      });
    });

    it("queues an admin's MINT as an issue job with a unique reference; only an admin mints", async () => {
      const { user, token } = await insertUser(api, a.id, { email: "granted@tx.test" });
      const mint = await api.request("POST", "/transactions", {
        token: a.adminToken,
        body: { type: "MINT", userId: user.id, amount: "500" },
      });
      assert.equal(mint.status, 202, mint.text);
      assert.equal(mint.body.status, "PENDING");
      assert.equal(mint.body.to, user.walletAddress);
      assert.equal(mint.body.reference, `0x${"0".repeat(32)}${mint.body.id.replace(/-/g, "")}`);
      const refused = await api.request("POST", "/transactions", {
        token,
        body: { type: "MINT", userId: user.id, amount: "500" },
      });
      assert.equal(refused.status, 403);
      const pendingOnly = await api.request("GET", "/transactions?status=PENDING&type=MINT", { token: a.adminToken });
      assert.equal(pendingOnly.status, 200, pendingOnly.text);
      assert.deepEqual(
        pendingOnly.body.pending.map((row: { id: string }) => row.id),
        [mint.body.id],
      );
    });

    it("answers 503 when the indexer is down, for transactions and balances", async () => {
      const { token } = await insertUser(api, a.id, { email: "reader@tx.test" });
      for (const [path, caller] of [
        ["/transactions", { token: a.adminToken }],
        ["/transactions/me", { token }],
        ["/balances", { token }],
      ] as const) {
        const response = await api.request("GET", path, caller);
        assert.equal(response.status, 503, `${path} ${response.text}`);
        assert.ok(isProblem(response));
      }
    });
  });
}
