import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createTestTenant,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
} from "../../test/harness.ts";
import { CHAIN_ID } from "../../test/relay.ts";
import { relayTransactions } from "../db/relaySchema.ts";
import { tenantGasLastHour } from "./limits.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`a tenant's relayed gas per hour on ${database.name}`, () => {
    let api: TestApi;
    before(async () => (api = await startTestApiOn(database, { chain })));
    after(() => api.close());

    it("sums the tenant's own transactions of the last hour: gas used where mined, the limit in flight", async () => {
      const { db } = api.services;
      const [a, b] = [await createTestTenant(api), await createTestTenant(api)];
      const signer = `0x${"5".repeat(40)}`;
      let nonce = 1_000_000;
      const sent = (values: Partial<typeof relayTransactions.$inferInsert>) => ({
        chainId: CHAIN_ID,
        signer,
        nonce: nonce++,
        to: signer,
        data: "0x",
        gasLimit: "0",
        maxFeePerGas: "1",
        maxPriorityFeePerGas: "1",
        ...values,
      });
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      await db.insert(relayTransactions).values([
        sent({ tenantId: a.id, gasLimit: "1000", gasUsed: "100", status: "CONFIRMED" }),
        sent({ tenantId: a.id, gasLimit: "500", status: "SUBMITTED" }),
        sent({ tenantId: a.id, gasLimit: "900", gasUsed: "7", status: "REVERTED" }),
        sent({ tenantId: a.id, gasLimit: "10000", status: "DROPPED" }),
        sent({ tenantId: a.id, gasLimit: "3000", gasUsed: "3000", status: "CONFIRMED", createdAt: twoHoursAgo }),
        sent({ tenantId: b.id, gasLimit: "20000", gasUsed: "20000", status: "CONFIRMED" }),
        // A lane's nonce filler carries nobody's jobs.
        sent({ tenantId: null, gasLimit: "21000", gasUsed: "21000", status: "CONFIRMED" }),
      ]);
      assert.equal(await tenantGasLastHour({ db }, a.id), 100n + 500n + 7n);
      assert.equal(await tenantGasLastHour({ db }, b.id), 20000n);
    });
  });
}
