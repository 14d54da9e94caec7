// Database errors the API turns into problems rather than 500s.

/** Whether an error (or one it wraps, as drizzle does) is a unique violation, SQLSTATE 23505, on either driver. */
export function isUniqueViolation(error: unknown): boolean {
  for (let cause = error; cause && typeof cause === "object"; cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { code?: unknown }).code === "23505") return true;
  }
  return false;
}

/**
 * Whether an error (or one it wraps) is about a row others still refer to: a foreign key violation
 * (SQLSTATE 23503) or, for ON DELETE RESTRICT, a restrict violation (23001).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  for (let cause = error; cause && typeof cause === "object"; cause = (cause as { cause?: unknown }).cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === "23503" || code === "23001") return true;
  }
  return false;
}
