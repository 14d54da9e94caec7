// Exactly once: 1,000 issue jobs carried by a relayer process that is killed (SIGKILL) at random
// moments and restarted; at the end every job has issued exactly once, as the chain's events show.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress } from "viem";
import { relayJobs, relayTransactions } from "../db/relaySchema.ts";
import {
  createTestTenant,
  startTestApi,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../test/harness.ts";
import { CHAIN_ID, newRecipient, newReference, spawnRelayer, waitFor, type RelayerProcess } from "../../test/relay.ts";
import { ISSUE_KIND, type IssuePayload } from "./kinds/issue.ts";
import { pointsTokenAbi } from "../../../abi/pointsToken.ts";
import { eq } from "drizzle-orm";

const postgres = testDatabases().find((database) => database.name === "PostgreSQL");
const JOBS = Number(process.env.EXACTLY_ONCE_JOBS ?? 1000);
const KILLS = 4;

describe("exactly once under SIGKILL", { skip: postgres ? false : "PERS_TEST_DATABASE_URL is unset" }, () => {
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

  it(
    `issues each of ${JOBS} jobs exactly once while the relayer is killed ${KILLS} times`,
    { timeout: 900_000 },
    async () => {
      const { db } = api.services;
      const payloads: IssuePayload[] = Array.from({ length: JOBS }, (_, index) => ({
        to: newRecipient(),
        amount: String(index + 1),
        reason: "GRANT",
        reference: newReference(),
      }));
      for (let start = 0; start < JOBS; start += 200) {
        await db
          .insert(relayJobs)
          .values(
            payloads
              .slice(start, start + 200)
              .map((payload) => ({ tenantId: tenant.id, chainId: CHAIN_ID, kind: ISSUE_KIND, payload })),
          );
      }
      const settings = { RELAYER_CLAIM_LIMIT: "32", RELAYER_LEASE_MS: "1500", RELAYER_REPLACE_AFTER_MS: "1500" };
      const confirmed = async () =>
        (await db.select({ id: relayJobs.id }).from(relayJobs).where(eq(relayJobs.status, "CONFIRMED"))).length;
      let relayer: RelayerProcess = await spawnRelayer(chain, url, settings);
      try {
        for (let kill = 0; kill < KILLS; kill += 1) {
          // Kill at a random moment, once it has made some progress.
          const before = await confirmed();
          await waitFor("progress", async () => (await confirmed()) > before, 120_000);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 1500));
          await relayer.kill();
          relayer = await spawnRelayer(chain, url, settings);
        }
        await waitFor("every job to be confirmed", async () => (await confirmed()) === JOBS, 600_000);
      } finally {
        await relayer.stop().catch(() => undefined);
      }
      const jobs = await db.select().from(relayJobs);
      assert.equal(jobs.length, JOBS);
      assert.ok(jobs.every((job) => job.status === "CONFIRMED"));
      const events = await chain.chains.get(CHAIN_ID)!.publicClient.getContractEvents({
        address: tenant.tenant.contracts.pointsToken,
        abi: pointsTokenAbi,
        eventName: "Issued",
        fromBlock: 0n,
      });
      assert.equal(events.length, JOBS, "one Issued event per job, none doubled");
      const byReference = new Map(events.map((event) => [event.args.ref, event.args]));
      assert.equal(byReference.size, JOBS, "no reference issued twice");
      // The relayer's own record agrees: each job names the one transaction that issued it.
      const transactions = new Map((await db.select().from(relayTransactions)).map((row) => [row.id, row]));
      const paidBy = new Map(events.map((event) => [event.args.ref, event.transactionHash]));
      for (const job of jobs) {
        const transaction = transactions.get(job.transactionId!);
        assert.equal(transaction?.status, "CONFIRMED");
        assert.equal(transaction?.minedHash, paidBy.get((job.payload as IssuePayload).reference));
      }
      for (const payload of payloads) {
        const issued = byReference.get(payload.reference);
        assert.ok(issued, `${payload.reference} was issued`);
        assert.equal(issued.to, getAddress(payload.to));
        assert.equal(issued.amount, BigInt(payload.amount));
      }
    },
  );
});
