// Group commit: writes that many requests make at once go to the database together (and reads:
// see findShared in ./scope.ts). Each statement costs a fixed price however small (a round trip to
// PostgreSQL; on embedded PGlite, Postgres itself running on the API's thread), so under load one
// statement for many requests is most of the saving. Nothing waits on a timer: the first item goes
// out as soon as the current turn of the event loop ends, taking along every item that came in that
// turn; items that come while a statement is out go together in the next one. Alone, an item waits
// for nothing.

export type GroupCommitParameters<Item, Result> = {
  /** Writes the items in order; one result per item, in the same order. */
  write: (items: Item[]) => Promise<Result[]>;
  /** The most items one statement takes. */
  maxBatch: number;
};

/** A function that adds its item to the next write and resolves with that item's result. */
export type GroupCommit<Item, Result> = (item: Item) => Promise<Result>;

type Waiting<Item, Result> = { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void };

export function createGroupCommit<Item, Result>({
  write,
  maxBatch,
}: GroupCommitParameters<Item, Result>): GroupCommit<Item, Result> {
  const waiting: Waiting<Item, Result>[] = [];
  let scheduled = false;
  let writing = false;

  async function flush() {
    scheduled = false;
    if (writing || !waiting.length) return;
    writing = true;
    const batch = waiting.splice(0, maxBatch);
    try {
      const results = await write(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => entry.resolve(results[index]!));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      writing = false;
      if (waiting.length) void flush();
    }
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!scheduled && !writing) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
