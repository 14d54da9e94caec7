// The claims benchmark's sender, on a thread of its own (bench/claims.ts starts it). Why: the
// benchmark's main thread also serves the chain's JSON-RPC (the API's relayer calls it all the
// time) and reads every block; sharing that event loop, a send went out late and an answer was
// timed late whenever the chain was busy (the loop's delay reached 14 ms at the 99th percentile at
// 200 claims/s, 33 ms at most), and that was counted as the API's latency. Here nothing else runs:
// each claim is sent at its time, and its answer timed as it arrives. With undici's request rather
// than fetch: fetch took twice the CPU (0.21 of a core at 200 claims/s), which the API then lacked.
import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { request } from "undici";

export type ClaimSenderData = {
  apiUrl: string;
  campaignId: string;
  userIds: string[];
  /** The caller's credentials (an API key or an access token). */
  headers: Record<string, string>;
  idempotency: boolean;
};
/** From the benchmark: send `rate` claims a second for `seconds`; or report once every answer is in. */
export type ToSender = { phase: { index: number; rate: number; seconds: number } } | { settle: true };
export type ClaimAnswer = {
  phase: number;
  /** When the schedule meant to send it: latencies count from here (no coordinated omission). */
  dueAt: number;
  answeredAt: number;
  /** The HTTP status; 0 when the request failed without one. */
  status: number;
  id?: string;
  claimId?: string;
};
export type PhaseSent = {
  startedAt: number;
  endedAt: number;
  /** How late the latest send left against its schedule. */
  maxLagMs: number;
  /** This thread's event-loop delay over the phase: what its timings can be off by. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
};
export type FromSender = { answer: ClaimAnswer } | { phaseSent: PhaseSent } | { settled: true } | { log: string };

/** Milliseconds since the epoch, sub-millisecond, on the clock the API's timestamps use. */
const now = () => performance.timeOrigin + performance.now();
const { apiUrl, campaignId, userIds, headers, idempotency } = workerData as ClaimSenderData;
const claimsUrl = `${apiUrl}/campaigns/claims`;
const port = parentPort!;
const post = (message: FromSender) => port.postMessage(message);
const inFlight = new Set<Promise<void>>();
// The histogram holds the whole interval between its timer's ticks: the delay is what exceeds it.
const LOOP_SAMPLE_MS = 5;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
const loopDelayMs = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - LOOP_SAMPLE_MS);
loopDelay.enable();
let sent = 0;
let errors = 0;

async function send(phase: number, dueAt: number, userId: string) {
  let answer: ClaimAnswer;
  try {
    const response = await request(claimsUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...headers,
        ...(idempotency && { "idempotency-key": randomUUID() }),
      },
      body: JSON.stringify({ campaignId, userId }),
    });
    const body = (await response.body.json()) as { id?: string; claimId?: string };
    answer = { phase, dueAt, answeredAt: now(), status: response.statusCode };
    if (response.statusCode === 202) Object.assign(answer, { id: body.id, claimId: body.claimId });
    else if (errors++ < 5) post({ log: `a claim was answered ${response.statusCode}: ${JSON.stringify(body)}` });
  } catch (error) {
    answer = { phase, dueAt, answeredAt: now(), status: 0 };
    if (errors++ < 5) post({ log: `a claim failed: ${error}` });
  }
  post({ answer });
}

/** Sends `rate` claims a second for `seconds`, on schedule whatever the answers. */
async function sendPhase(index: number, rate: number, seconds: number): Promise<PhaseSent> {
  const count = Math.round(rate * seconds);
  const startedAt = now();
  let maxLagMs = 0;
  loopDelay.reset();
  for (let i = 0; i < count;) {
    const at = now();
    // Send every claim that is due: open loop, answers are not awaited.
    for (; i < count && startedAt + (i * 1000) / rate <= at; i++) {
      const dueAt = startedAt + (i * 1000) / rate;
      maxLagMs = Math.max(maxLagMs, at - dueAt);
      const request = send(index, dueAt, userIds[sent++ % userIds.length]!);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    if (i < count) await sleep(Math.max(1, startedAt + (i * 1000) / rate - now()));
  }
  const endedAt = startedAt + seconds * 1000;
  await sleep(Math.max(0, endedAt - now()));
  return {
    startedAt,
    endedAt,
    maxLagMs,
    loopDelayP99Ms: loopDelayMs(loopDelay.percentile(99)),
    loopDelayMaxMs: loopDelayMs(loopDelay.max),
  };
}

port.on("message", async (message: ToSender) => {
  if ("phase" in message) {
    const { index, rate, seconds } = message.phase;
    post({ phaseSent: await sendPhase(index, rate, seconds) });
  } else {
    await Promise.all(inFlight);
    post({ settled: true });
  }
});
