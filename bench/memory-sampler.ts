// Preloaded into the benchmarked indexer (`node --import`): samples its memory every 100 ms and
// keeps the peaks in PERS_BENCH_MEMORY_FILE, so that the benchmark can tell the JavaScript heap
// (heapUsed), buffers outside it (external, arrayBuffers) and PGlite's WebAssembly memory apart
// inside the process's peak RSS. WebAssembly memories are found by wrapping their constructor and
// instantiation; they are held weakly so that a discarded one (initdb's) can still be collected.
// With PERS_BENCH_HEAP_SNAPSHOT_MB it also writes one heap snapshot (beside the memory file) the
// first time heapUsed passes that many MB.
import { readFileSync, writeFileSync } from "node:fs";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { writeHeapSnapshot } from "node:v8";

const file = process.env.PERS_BENCH_MEMORY_FILE;
if (!file) throw new Error("memory-sampler: set PERS_BENCH_MEMORY_FILE");

// The few WebAssembly types needed (the project's TypeScript libraries do not declare them).
type Memory = { readonly buffer: ArrayBuffer };
type Instance = { readonly exports: Record<string, unknown> };
type WebAssemblyApi = {
  Memory: new (...args: unknown[]) => Memory;
  Instance: new (...args: unknown[]) => Instance;
  instantiate: (...args: unknown[]) => Promise<Instance | { instance: Instance }>;
};
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const memories = new Set<WeakRef<Memory>>();
const track = (value: unknown) => {
  if (value instanceof wasm.Memory) memories.add(new WeakRef(value));
};

wasm.Memory = new Proxy(wasm.Memory, {
  construct(target, args) {
    const memory = new target(...args);
    track(memory);
    return memory;
  },
});
const instantiate = wasm.instantiate;
wasm.instantiate = async (...args) => {
  const result = await instantiate(...args);
  const instance = result instanceof wasm.Instance ? result : (result as { instance: Instance }).instance;
  Object.values(instance.exports).forEach(track);
  return result;
};

/** How much of the WebAssembly memories is resident: V8 maps each as a read-write region followed by
 * an inaccessible guard reservation of several GB, so the read-write regions just before such a
 * reservation are theirs (Linux only; read once a second, as /proc/self/smaps is long). */
function wasmResidentBytes() {
  const regions = readFileSync("/proc/self/smaps", "utf8")
    .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
    .map((entry) => {
      const [range = "", permissions] = entry.split(" ", 2);
      const [start = 0, end = 0] = range.split("-").map((address) => parseInt(address, 16));
      return { start, end, permissions, rssKb: Number(/^Rss:\s+(\d+) kB/m.exec(entry)?.[1] ?? 0) };
    });
  let bytes = 0;
  regions.forEach((region, i) => {
    const next = regions[i + 1];
    if (region.permissions === "rw-p" && next?.permissions === "---p" && next.start === region.end)
      if (next.end - next.start >= 4 * 2 ** 30) bytes += region.rssKb * 1024;
  });
  return bytes;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const peaks = {
  rssMb: 0,
  heapUsedMb: 0,
  liveHeapMb: 0,
  externalMb: 0,
  arrayBuffersMb: 0,
  wasmMb: 0,
  wasmResidentMb: 0,
};
// heapUsed includes garbage not yet collected; just after a full collection it is about the live heap.
new PerformanceObserver((list) => {
  if (
    list
      .getEntries()
      .some((entry) => (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
  )
    peaks.liveHeapMb = Math.max(peaks.liveHeapMb, mb(process.memoryUsage().heapUsed));
}).observe({ entryTypes: ["gc"] });
let tick = 0;
let snapshotAtMb = Number(process.env.PERS_BENCH_HEAP_SNAPSHOT_MB ?? Infinity);
let written = "";
setInterval(() => {
  const usage = process.memoryUsage();
  let wasm = 0;
  for (const ref of memories) {
    const memory = ref.deref();
    if (memory) wasm += memory.buffer.byteLength;
    else memories.delete(ref);
  }
  const sample = {
    rssMb: mb(usage.rss),
    heapUsedMb: mb(usage.heapUsed),
    externalMb: mb(usage.external),
    arrayBuffersMb: mb(usage.arrayBuffers),
    wasmMb: mb(wasm),
    wasmResidentMb: wasm > 0 && tick++ % 10 === 0 ? mb(wasmResidentBytes()) : 0,
  };
  for (const key of Object.keys(sample) as (keyof typeof sample)[]) peaks[key] = Math.max(peaks[key], sample[key]);
  if (sample.heapUsedMb >= snapshotAtMb) {
    snapshotAtMb = Infinity;
    writeHeapSnapshot(`${file}.heapsnapshot`);
  }
  const text = JSON.stringify(peaks);
  if (text !== written) writeFileSync(file, (written = text));
}, 100).unref();
