// Background passes over the database on a timer (table maintenance, expired rows): one pass at a
// time, a pass still running when the next is due makes that one skip, and stopping waits for the
// pass under way.
export type Periodic = { stop: () => Promise<void> };

/** Runs `pass` every intervalMs until stopped; `pass` handles (logs) its own failures. */
export function runEvery(intervalMs: number, pass: () => Promise<void>): Periodic {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = pass().finally(() => (running = undefined));
  }, intervalMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
