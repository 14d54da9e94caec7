// POST /tenants sends the TenantFactory transaction with the platform's key, which is also the
// relayer's signer: it takes its nonce from the relayer's lane, so tenants created while that
// signer relays claims all confirm, every claim too, and no nonce is skipped or used twice. Its
// answers stay those of a synchronous deployment.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { and, eq, gte, inArray } from "drizzle-orm";
import { faultyChain } from "../../../test/chains.ts";
import { publishedCampaign, type PublishedCampaign } from "../../../test/claim-fixtures.ts";
import {
  createTestTenant,
  insertUser,
  PLATFORM_KEY,
  startTestApi,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { CHAIN_ID, node, testRelayer, waitFor } from "../../../test/relay.ts";
import type { Address } from "viem";
import { campaignRegistryAbi } from "../../../../abi/campaignRegistry.ts";
import { openCustodialWallet } from "../../crypto/wallets.ts";
import { claims, relayTransactions, signerLanes } from "../../db/relaySchema.ts";
import { tenantDeployments, tenants } from "../../db/schema.ts";
import { claimKind } from "../../relay/kinds/claim.ts";

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

const CLAIMS = 60;
const TENANT_ROUNDS = 2;
const TENANTS_PER_ROUND = 3;

for (const database of testDatabases()) {
  describe(`tenant creation beside relayed claims on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let tenant: TestTenant;
    let campaign: PublishedCampaign;
    let users: { id: string }[];

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      api = await startTestApi({ database: opened.parameters, chain });
      tenant = await createTestTenant(api);
      campaign = await publishedCampaign(api, chain, tenant, {}, { amount: "1" });
      users = [];
      for (let i = 0; i < 4; i++) users.push((await insertUser(api, tenant.id)).user);
    });
    after(async () => {
      await api.close();
      await drop();
    });

    it("creates every tenant and confirms every claim through one lane, its nonces without gap or repeat", async () => {
      const { db } = api.services;
      const { publicClient, walletClient } = chain.chains.get(CHAIN_ID)!;
      const signer = walletClient.account.address;
      // The campaign was published outside the lane: the relayer syncs past it when it starts.
      const firstNonce = await publicClient.getTransactionCount({ address: signer, blockTag: "pending" });
      const relayer = testRelayer(api, { kinds: [claimKind] });
      try {
        const claimIds: string[] = [];
        let claiming = true;
        const claimed = (async () => {
          for (let i = 0; claiming || i < CLAIMS; i++) {
            const response = await api.request("POST", "/campaigns/claims", {
              token: tenant.adminToken,
              body: { campaignId: campaign.id, userId: users[i % users.length]!.id },
            });
            assert.equal(response.status, 202, response.text);
            claimIds.push(response.body.id);
          }
        })();
        // Tenants created a few at a time, while the claims keep the relayer sending.
        const created: TestTenant[] = [];
        try {
          for (let round = 0; round < TENANT_ROUNDS; round++) {
            created.push(
              ...(await Promise.all(Array.from({ length: TENANTS_PER_ROUND }, () => createTestTenant(api)))),
            );
          }
        } finally {
          claiming = false;
          await claimed;
        }
        assert.equal(created.length, TENANT_ROUNDS * TENANTS_PER_ROUND);

        const settled = await waitFor(
          "every claim to settle",
          async () => {
            const rows = await db.select().from(claims).where(inArray(claims.id, claimIds));
            return rows.every((row) => row.status === "CONFIRMED" || row.status === "FAILED") ? rows : undefined;
          },
          60_000,
        );
        assert.deepEqual(
          settled.filter((row) => row.status !== "CONFIRMED").map((row) => [row.id, row.error]),
          [],
        );

        const sent = await db
          .select()
          .from(relayTransactions)
          .where(
            and(
              eq(relayTransactions.chainId, CHAIN_ID),
              eq(relayTransactions.signer, signer),
              gte(relayTransactions.nonce, firstNonce),
            ),
          );
        // Each nonce from the first to the chain's count once, each transaction confirmed.
        const nonces = sent.map((row) => row.nonce).sort((a, b) => a - b);
        const count = await publicClient.getTransactionCount({ address: signer, blockTag: "latest" });
        assert.deepEqual(
          nonces,
          Array.from({ length: count - firstNonce }, (_, index) => firstNonce + index),
        );
        assert.deepEqual(
          sent.filter((row) => row.status !== "CONFIRMED").map((row) => [row.nonce, row.status, row.error]),
          [],
        );
        assert.equal(await publicClient.getTransactionCount({ address: signer, blockTag: "pending" }), count);
        const [lane] = await db
          .select()
          .from(signerLanes)
          .where(and(eq(signerLanes.chainId, CHAIN_ID), eq(signerLanes.signer, signer)));
        assert.equal(lane!.nextNonce, count);
        // The tenants' transactions are among them, and the claims' too.
        const mined = new Set(sent.map((row) => row.minedHash));
        for (const { tenant } of created) assert.ok(mined.has(tenant.creationTransaction), tenant.creationTransaction);
        for (const row of settled) assert.ok(mined.has(row.transactionHash), `claim ${row.id}: ${row.transactionHash}`);
        assert.ok(sent.length > created.length, "claims were relayed in between");
      } finally {
        await relayer.stop();
      }
    });

    it("keeps its answers: 409 when the externalId exists on chain, 503 when the chain is down or too slow; a retry adopts what mined late", async () => {
      // Another database on the same chain: the externalId is new to it, not to the factory.
      const opened = await database.open();
      const faulty = faultyChain(chain);
      const other = await startTestApi({
        database: opened.parameters,
        chain: faulty,
        environment: { TENANT_DEPLOY_TIMEOUT_MS: "2000" },
      });
      const chainNode = node(chain);
      try {
        const body = (externalId: string) => ({
          name: "Again",
          externalId,
          points: { name: "P", symbol: "P" },
          admin: { email: "again@lane.test", name: "Again", password: "long enough password" },
        });
        const again = await other.request("POST", "/tenants", {
          apiKey: PLATFORM_KEY,
          body: body(tenant.tenant.externalId),
        });
        assert.equal(again.status, 409, again.text);
        assert.ok(again.body.detail.includes(`already exists on chain ${CHAIN_ID}`), again.body.detail);
        faulty.breakChain(CHAIN_ID);
        const downId = `lane-down-${randomUUID()}`;
        const down = await other.request("POST", "/tenants", { apiKey: PLATFORM_KEY, body: body(downId) });
        assert.equal(down.status, 503, down.text);
        assert.ok(
          down.body.detail.startsWith(`Deploying the tenant's contracts on chain ${CHAIN_ID} failed`),
          down.body.detail,
        );
        // Neither took a nonce: the first reverts in simulation, the second never reached the chain.
        assert.deepEqual(await other.services.db.select().from(relayTransactions), []);
        faulty.restore(CHAIN_ID);

        // Sent, but not mined in time: 503, its transaction left in the lane for a relayer to follow.
        await chainNode.setAutomine(false);
        const slowId = `lane-slow-${randomUUID()}`;
        const slow = await other.request("POST", "/tenants", { apiKey: PLATFORM_KEY, body: body(slowId) });
        assert.equal(slow.status, 503, slow.text);
        assert.match(slow.body.detail, /not confirmed in 2000 ms; it may still be mined/);
        const [open] = await other.services.db.select().from(relayTransactions);
        assert.equal(open!.status, "SUBMITTED");
        await chainNode.setAutomine(true);
        await chainNode.mine();
        const relayer = testRelayer(other);
        try {
          await waitFor("the relayer to confirm it", async () => {
            const [row] = await other.services.db.select().from(relayTransactions);
            return row!.status === "CONFIRMED";
          });
        } finally {
          await relayer.stop();
        }
        assert.equal((await other.request("GET", "/tenants", { apiKey: PLATFORM_KEY })).body.pagination.total, 0);

        // The retry adopts the suite that mined, with the custodial admin wallet the first attempt made
        // (its key was recorded before the deployment, not lost with the request). Nothing is sent again.
        const [pending] = await other.services.db
          .select()
          .from(tenantDeployments)
          .where(eq(tenantDeployments.externalId, slowId));
        assert.ok(pending, "the unfinished creation is on record");
        const retried = await other.request("POST", "/tenants", { apiKey: PLATFORM_KEY, body: body(slowId) });
        assert.equal(retried.status, 201, retried.text);
        const [mined] = await other.services.db.select().from(relayTransactions);
        assert.equal(retried.body.tenant.creationTransaction, mined!.minedHash);
        assert.equal(retried.body.tenant.id, pending!.tenantId);
        assert.equal(retried.body.tenant.adminAddress, pending!.adminAddress);
        assert.equal(retried.body.tenant.adminCustodial, true);
        assert.equal((await other.services.db.select().from(relayTransactions)).length, 1);
        const [row] = await other.services.db.select().from(tenants).where(eq(tenants.externalId, slowId));
        const adminWallet = openCustodialWallet(
          other.services.config.MASTER_KEY,
          row!.adminKeyCiphertext!,
          `tenant-admin:${row!.id}`,
        );
        assert.equal(adminWallet.address, pending!.adminAddress);
        const { publicClient } = chain.chains.get(CHAIN_ID)!;
        const registry = row!.contracts.campaignRegistry as Address;
        const adminRole = await publicClient.readContract({
          address: registry,
          abi: campaignRegistryAbi,
          functionName: "DEFAULT_ADMIN_ROLE",
        });
        assert.ok(
          await publicClient.readContract({
            address: registry,
            abi: campaignRegistryAbi,
            functionName: "hasRole",
            args: [adminRole, adminWallet.address],
          }),
          "the kept wallet administers the adopted suite",
        );
        assert.deepEqual(
          (await other.services.db.select().from(tenantDeployments)).map((record) => record.externalId),
          [downId],
          "the adopted creation's record is done with; the one that never reached the chain waits for its retry",
        );
        // A retry asking for another admin than the unfinished attempt it would resume is refused.
        const unfinished = `lane-unfinished-${randomUUID()}`;
        await other.services.db.insert(tenantDeployments).values({
          externalId: unfinished,
          tenantId: randomUUID(),
          chainId: CHAIN_ID,
          adminAddress: adminWallet.address,
          adminKeyCiphertext: row!.adminKeyCiphertext,
        });
        const otherAdmin = await other.request("POST", "/tenants", {
          apiKey: PLATFORM_KEY,
          body: { ...body(unfinished), adminAddress: "0x000000000000000000000000000000000000dEaD" },
        });
        assert.equal(otherAdmin.status, 409, otherAdmin.text);
        assert.match(otherAdmin.body.detail, /unfinished; retry it with the same chain and admin/);
        assert.equal((await other.services.db.select().from(relayTransactions)).length, 1, "nothing sent");
      } finally {
        faulty.restore(CHAIN_ID);
        await chainNode.setAutomine(true);
        await other.close();
        await opened.drop();
      }
    });
  });
}
