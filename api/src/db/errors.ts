// Database errors the API turns into problems rather than 500s.

/** Whether an error (or one it wraps, as drizzle does) is a unique violation, SQLSTATE 23505, on either driver. */
export function isUniqueViolation(error: unknown): boolean {
  for (let cause = error; cause && typeof cause === "object"; cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { code?: unknown }).code === "23505") return true;
  }
  return false;
}
