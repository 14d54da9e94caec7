// Two relayer processes on one PostgreSQL database share the queue: every job is carried by one
// transaction, never two.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq, inArray } from "drizzle-orm";
import { relayTransactions } from "../db/relaySchema.ts";
import {
  createTestTenant,
  startTestApi,
  startTestChain,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../test/harness.ts";
import {
  CHAIN_ID,
  gasLimitsSent,
  heldBack,
  issuedEvents,
  jobRows,
  newRecipient,
  newReference,
  pointsBalance,
  spawnRelayer,
  waitFor,
} from "../../test/relay.ts";
import { enqueueIssue } from "./kinds/issue.ts";
import { tenantGasLastHour } from "./limits.ts";
import { testDatabases } from "../../test/harness.ts";

const postgres = testDatabases().find((database) => database.name === "PostgreSQL");

describe(
  "two relayer processes on one PostgreSQL database",
  { skip: postgres ? false : "PERS_TEST_DATABASE_URL is unset" },
  () => {
    let chain: TestChain;
    let api: TestApi;
    let drop: () => Promise<void>;
    let url: string;
    let tenant: TestTenant;

    before(async () => {
      chain = await startTestChain();
      const opened = await postgres!.open();
      drop = opened.drop;
      if (opened.parameters.kind !== "postgres") throw new Error("expected PostgreSQL");
      url = opened.parameters.url;
      api = await startTestApi({ database: opened.parameters, chain });
      tenant = await createTestTenant(api);
    });
    after(async () => {
      await api?.close();
      await drop?.();
      await chain?.close();
    });

    it("carries every job exactly once, each process sending some", async () => {
      const { db } = api.services;
      // Small claims, so that the two processes interleave; both are running before any job is queued,
      // or the first to start could carry them all.
      const settings = { RELAYER_CLAIM_LIMIT: "3" };
      const [one, two] = await Promise.all([spawnRelayer(chain, url, settings), spawnRelayer(chain, url, settings)]);
      // Queued in one transaction, so that both running relayers find all 60 at once.
      const jobs = await db.transaction(async (tx) => {
        const queued: { id: string; to: `0x${string}`; reference: `0x${string}` }[] = [];
        for (let i = 0; i < 60; i += 1) {
          const to = newRecipient();
          const reference = newReference();
          const id = await enqueueIssue(tx as unknown as typeof db, {
            tenantId: tenant.id,
            chainId: CHAIN_ID,
            to,
            amount: String(i + 1),
            reason: "GRANT",
            reference,
          });
          queued.push({ id, to, reference });
        }
        return queued;
      });
      let signed: number[] = [];
      try {
        await waitFor(
          "every job to be confirmed",
          async () =>
            (
              await jobRows(
                db,
                jobs.map((job) => job.id),
              )
            ).every((job) => job.status === "CONFIRMED"),
          120_000,
        );
      } finally {
        signed = await Promise.all([one.stop(), two.stop()]);
      }
      const rows = await jobRows(
        db,
        jobs.map((job) => job.id),
      );
      assert.ok(rows.every((job) => job.attempts === 1 && job.transactionId !== null));
      assert.equal(new Set(rows.map((job) => job.transactionId)).size, 60);
      const transactions = await db
        .select()
        .from(relayTransactions)
        .where(
          inArray(
            relayTransactions.id,
            rows.map((job) => job.transactionId!),
          ),
        );
      assert.ok(
        transactions.every((transaction) => transaction.status === "CONFIRMED" && transaction.hashes.length === 1),
      );
      assert.equal(new Set(transactions.map((transaction) => transaction.nonce)).size, 60);
      const dropped = await db.select().from(relayTransactions).where(eq(relayTransactions.status, "DROPPED"));
      assert.equal(dropped.length, 0);
      // Each process signed some of them, and together exactly one per job.
      assert.ok(signed[0]! > 0 && signed[1]! > 0, `signed ${signed.join(" and ")}`);
      assert.equal(signed[0]! + signed[1]!, 60);
      for (const [index, job] of jobs.entries()) {
        assert.equal((await issuedEvents(chain, tenant, job.reference)).length, 1);
        assert.equal(await pointsBalance(chain, tenant, job.to), BigInt(index + 1));
      }
    });

    it("keeps a tenant within its gas per hour, however the two processes interleave", async () => {
      const { db } = api.services;
      const limited = await createTestTenant(api);
      // Issues of about 116,000 gas at their limit: two fit.
      const limit = 300_000;
      const settings = {
        RELAYER_CLAIM_LIMIT: "3",
        RELAYER_LEASE_MS: "5000",
        RELAYER_TENANT_GAS_PER_HOUR: String(limit),
      };
      const [one, two] = await Promise.all([spawnRelayer(chain, url, settings), spawnRelayer(chain, url, settings)]);
      const ids = await db.transaction(async (tx) => {
        const queued: string[] = [];
        for (let i = 0; i < 20; i += 1) {
          queued.push(
            await enqueueIssue(tx as unknown as typeof db, {
              tenantId: limited.id,
              chainId: CHAIN_ID,
              to: newRecipient(),
              amount: "1",
              reason: "GRANT",
              reference: newReference(),
            }),
          );
        }
        return queued;
      });
      try {
        await waitFor("every job sent or held back", async () =>
          (await jobRows(db, ids)).every((job) => job.status !== "PENDING" || heldBack(job)),
        );
      } finally {
        await Promise.all([one.stop(), two.stop()]);
      }
      const sent = await gasLimitsSent(db, limited.id);
      const counted = sent.reduce((sum, gas) => sum + gas, 0n);
      assert.ok(sent.length >= 1 && counted <= BigInt(limit), `${sent.length} sent, ${counted} gas`);
      assert.ok((await tenantGasLastHour({ db }, limited.id)) <= BigInt(limit));
      const left = (await jobRows(db, ids)).filter((job) => job.transactionId === null);
      assert.equal(left.length, 20 - sent.length);
      assert.ok(left.every(heldBack));
    });
  },
);
