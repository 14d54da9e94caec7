import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createGroupCommit } from "./groupCommit.ts";

describe("group commit", () => {
  it("writes items that come in one turn together, and those that come while a write is out in the next", async () => {
    const writes: number[][] = [];
    let release: (() => void) | undefined;
    const add = createGroupCommit<number, number>({
      maxBatch: 100,
      write: async (items) => {
        writes.push(items);
        if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return items.map((item) => item * 10);
      },
    });
    const first = [1, 2, 3].map(add);
    await new Promise((resolve) => setImmediate(resolve));
    const second = [4, 5].map(add); // while the first write is out
    release!();
    assert.deepEqual(await Promise.all([...first, ...second]), [10, 20, 30, 40, 50]);
    assert.deepEqual(writes, [
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("takes at most maxBatch items a write", async () => {
    const sizes: number[] = [];
    const add = createGroupCommit<number, number>({
      maxBatch: 2,
      write: async (items) => (sizes.push(items.length), items),
    });
    await Promise.all([1, 2, 3, 4, 5].map(add));
    assert.deepEqual(sizes, [2, 2, 1]);
  });

  it("fails every item of a failed write, and writes the next ones afresh", async () => {
    let fail = true;
    const add = createGroupCommit<number, number>({
      maxBatch: 10,
      write: async (items) => {
        if (fail) throw new Error("database gone");
        return items;
      },
    });
    const failed = await Promise.allSettled([add(1), add(2)]);
    assert.deepEqual(
      failed.map((result) => result.status),
      ["rejected", "rejected"],
    );
    fail = false;
    assert.equal(await add(3), 3);
  });
});
