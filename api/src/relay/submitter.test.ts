// Batch sizing: the gas a batch aims at fills blocks, and a chunk over it is cut there, not halved.
// The node is a stand-in whose estimate grows with the jobs, so the sizes are exact.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hexToBigInt, toHex, zeroAddress } from "viem";
import type { AnyJob, ChainLane } from "./context.ts";
import type { JobContext, JobKind } from "./jobs.ts";
import { batchGasTarget, chunkSize, gasLimitGuess, rememberGasPerJob, simulate } from "./submitter.ts";
import { TRANSACTION_GAS_CAP, withMargin } from "./transactions.ts";

const PER_JOB = 50_000n;
const BASE = 21_000n;

/** A kind whose call says how much its jobs weigh, and a node that charges PER_JOB gas for each unit. */
function sizedKind(options: { revertsWith?: string } = {}) {
  const estimates: number[] = [];
  const kind: JobKind = {
    name: "test.sized",
    maxBatch: 1000,
    encode: async (jobs) => ({
      to: zeroAddress,
      // The jobs' weight (a heavy job costs three times as much), and a flag when one of them reverts.
      data: toHex(
        BigInt(jobs.reduce((sum, job) => sum + (job.id.startsWith("heavy") ? 3 : 1), 0)) |
          (jobs.some((job) => job.id === options.revertsWith) ? 1n << 64n : 0n),
        { size: 32 },
      ),
    }),
    settle: async () => undefined,
    fail: async () => undefined,
  };
  const calls: bigint[] = [];
  const lane = {
    chain: {
      publicClient: {
        // Runs out of gas below what the jobs cost.
        call: async ({ data, gas }: { data: `0x${string}`; gas: bigint }) => {
          calls.push(gas);
          const value = hexToBigInt(data);
          if (value >> 64n) throw Object.assign(new Error("execution reverted"), { code: 3 });
          if (gas < BASE + PER_JOB * value) throw new Error("out of gas");
          return { data: "0x" };
        },
        estimateGas: async ({ data }: { data: `0x${string}` }) => {
          const value = hexToBigInt(data);
          estimates.push(Number(value & 0xffffffffn));
          if (value >> 64n) throw Object.assign(new Error("execution reverted"), { code: 3 });
          return BASE + PER_JOB * value;
        },
      },
    },
    signer: { address: zeroAddress },
  } as unknown as ChainLane;
  return { kind, lane, estimates, calls };
}

const jobsOf = (count: number) => Array.from({ length: count }, (_, index) => ({ id: `job-${index}` }) as AnyJob);
const context = {} as JobContext;

describe("batch sizing", () => {
  it("aims batches at a gas limit that lets five or more of them fill most of a block, within the cap, with room to spare", () => {
    for (const block of [15_000_000n, 30_000_000n, 36_000_000n, 45_000_000n, 60_000_000n, 100_000_000n]) {
      const limit = batchGasTarget(block);
      assert.ok(limit <= TRANSACTION_GAS_CAP, `${limit} over the cap for a block of ${block}`);
      // A builder takes a batch while its limit fits the gas left; each uses its limit ÷ 1.2.
      const used = (limit * 5n) / 6n;
      let taken = 0n;
      let count = 0;
      while (taken + limit <= block) {
        taken += used;
        count += 1;
      }
      assert.ok(count >= 5, `${count} batches in a block of ${block}`);
      assert.ok(Number(taken) / Number(block) >= 0.9, `${Number(taken) / Number(block)} of a block of ${block}`);
      // With 3% to spare: a batch 3% larger than the others still fits.
      assert.ok(taken - used + (limit * 103n) / 100n <= block, `no room to spare in a block of ${block}`);
    }
    assert.equal(batchGasTarget(30_000_000n), 6_715_384n);
  });

  it("cuts a chunk over the target where its gas reaches it, keeping the jobs in order", async () => {
    const { kind, lane, estimates } = sizedKind();
    const jobs = jobsOf(1000);
    const target = batchGasTarget(30_000_000n);
    const { batches, reverted } = await simulate(kind, jobs, lane, context, target);
    assert.deepEqual(reverted, []);
    assert.deepEqual(
      batches.flatMap((batch) => batch.jobs.map((job) => job.id)),
      jobs.map((job) => job.id),
    );
    for (const [index, batch] of batches.entries()) {
      assert.ok(batch.gasLimit <= target, `batch ${index}: ${batch.gasLimit} over ${target}`);
      if (index < batches.length - 1) assert.ok(batch.gasLimit * 10n >= target * 9n, `batch ${index} under-filled`);
    }
    // 1,000 jobs of 50,000 gas (60,000 with the margin) in batches of about 6.7M gas: 9 of 109 and the rest.
    assert.deepEqual(
      batches.map((batch) => batch.jobs.length),
      [...Array<number>(9).fill(109), 19],
    );
    // One estimate for the whole chunk, then one per batch: no halving, no estimate of a rest.
    assert.equal(estimates.length, batches.length + 1);
  });

  it("sizes each batch from the last estimate when jobs differ in cost, so that none is left small", async () => {
    const { kind, lane } = sizedKind();
    // 100 light jobs, 100 heavy ones, 100 light ones: the chunk's average fits neither.
    const jobs = [
      ...jobsOf(100),
      ...Array.from({ length: 100 }, (_, index) => ({ id: `heavy-${index}` }) as AnyJob),
      ...jobsOf(100).map((job) => ({ ...job, id: `${job.id}-late` })),
    ];
    const target = batchGasTarget(10_000_000n);
    const { batches, reverted } = await simulate(kind, jobs, lane, context, target);
    assert.deepEqual(reverted, []);
    assert.deepEqual(
      batches.flatMap((batch) => batch.jobs.map((job) => job.id)),
      jobs.map((job) => job.id),
    );
    for (const [index, batch] of batches.entries()) {
      assert.ok(batch.gasLimit <= target, `batch ${index}: ${batch.gasLimit} over ${target}`);
      if (index < batches.length - 1) {
        assert.ok(batch.gasLimit * 100n >= target * 75n, `batch ${index} of ${batch.jobs.length} under-filled`);
      }
    }
  });

  it("keeps a chunk within the target whole, and still bisects one that reverts", async () => {
    const small = sizedKind();
    const whole = await simulate(small.kind, jobsOf(100), small.lane, context, batchGasTarget(30_000_000n));
    assert.deepEqual(
      whole.batches.map((batch) => batch.jobs.length),
      [100],
    );
    assert.equal(whole.batches[0]!.gasLimit, ((BASE + 100n * PER_JOB) * 6n) / 5n + 10_000n);

    const reverting = sizedKind({ revertsWith: "job-5" });
    const outcome = await simulate(reverting.kind, jobsOf(8), reverting.lane, context, batchGasTarget(30_000_000n));
    assert.deepEqual(
      outcome.reverted.map(({ job }) => job.id),
      ["job-5"],
    );
    assert.deepEqual(
      outcome.batches.flatMap((batch) => batch.jobs.map((job) => job.id)),
      ["job-0", "job-1", "job-2", "job-3", "job-4", "job-6", "job-7"],
    );
  });

  it("sizes the next chunk from the batches before, so that it fits at its first estimate", async () => {
    const { kind, lane, estimates } = sizedKind();
    const target = batchGasTarget(30_000_000n);
    assert.equal(chunkSize(lane, kind.name, kind.maxBatch, target), kind.maxBatch, "nothing known yet: a full chunk");
    const first = await simulate(kind, jobsOf(kind.maxBatch), lane, context, target);
    rememberGasPerJob(lane, kind.name, first);
    const size = chunkSize(lane, kind.name, kind.maxBatch, target);
    assert.ok(size > 1 && size < kind.maxBatch, `${size}`);
    estimates.length = 0;
    const next = await simulate(kind, jobsOf(size), lane, context, target);
    assert.deepEqual(estimates, [size], "one estimate");
    assert.equal(next.batches.length, 1);
    assert.ok(next.batches[0]!.gasLimit <= target);
    // A lone job says nothing about a batch's gas per job.
    rememberGasPerJob(lane, kind.name, await simulate(kind, jobsOf(1), lane, context, target));
    assert.equal(chunkSize(lane, kind.name, kind.maxBatch, target), size);
  });

  it("checks a guessed gas limit with one run of the chunk, and estimates when the guess falls short", async () => {
    const { kind, lane, estimates, calls } = sizedKind();
    const target = batchGasTarget(30_000_000n);
    rememberGasPerJob(lane, kind.name, await simulate(kind, jobsOf(20), lane, context, target));
    estimates.length = 0;
    const chunk = jobsOf(chunkSize(lane, kind.name, kind.maxBatch, target));
    assert.ok(chunk.length >= 20);
    const guess = gasLimitGuess(lane, kind.name, chunk)!;
    const guessed = await simulate(kind, chunk, lane, context, target, guess);
    assert.deepEqual(calls, [guess]);
    assert.deepEqual(estimates, [], "no estimate");
    assert.deepEqual(
      guessed.batches.map((batch) => [batch.jobs.length, batch.gasLimit]),
      [[chunk.length, guess]],
    );
    assert.ok(guessed.guessed);
    // Heavier jobs than the guess was made for: they run out of gas, and the chunk is estimated.
    const heavy = chunk.map((job) => ({ ...job, id: `heavy-${job.id}` }));
    const estimated = await simulate(kind, heavy, lane, context, target, gasLimitGuess(lane, kind.name, heavy));
    assert.equal(calls.length, 2);
    assert.ok(estimates.length > 0);
    assert.ok(!estimated.guessed);
    for (const batch of estimated.batches) assert.ok(batch.gasLimit <= target);
    // Fewer jobs than the estimated batch: its per-job share of the transaction's own gas would be short.
    assert.equal(gasLimitGuess(lane, kind.name, jobsOf(10)), undefined);
    assert.equal(gasLimitGuess(lane, kind.name, jobsOf(1)), undefined, "a lone job is estimated");
  });

  it("guesses from one estimate a few times only, and learns nothing from a guess", async () => {
    const { kind, lane } = sizedKind();
    const target = batchGasTarget(30_000_000n);
    const estimated = await simulate(kind, jobsOf(20), lane, context, target);
    rememberGasPerJob(lane, kind.name, estimated);
    const guesses = Array.from({ length: 6 }, () => gasLimitGuess(lane, kind.name, jobsOf(20)));
    assert.equal(guesses.filter((guess) => guess !== undefined).length, 4);
    // A guessed batch (here one far above need) does not become the next guide.
    rememberGasPerJob(lane, kind.name, {
      batches: [{ ...estimated.batches[0]!, gasLimit: estimated.batches[0]!.gasLimit * 3n }],
      reverted: [],
      guessed: true,
    });
    assert.equal(gasLimitGuess(lane, kind.name, jobsOf(20)), undefined);
    rememberGasPerJob(lane, kind.name, estimated);
    assert.equal(gasLimitGuess(lane, kind.name, jobsOf(20)), estimated.batches[0]!.gasLimit);
  });
});
