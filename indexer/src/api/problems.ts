// The indexer's errors as problems (RFC 9457): application/problem+json with a stable `type` for
// each kind (`/problems/<kind>`, as the API names its own), a title, the status and a detail that
// names nothing inside the indexer.

export type ProblemType =
  "bad-request" | "invalid-query" | "not-found" | "too-many-requests" | "unavailable" | "internal";

export type Problem = {
  type: ProblemType;
  status: 400 | 404 | 429 | 500 | 503;
  title: string;
  detail: string;
};

export const problemResponse = ({ type, ...problem }: Problem, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: `/problems/${type}`, ...problem }), {
    status: problem.status,
    headers: { ...headers, "content-type": "application/problem+json" },
  });

/** A problem thrown from a middleware, for the app's error handler to answer with its headers. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;

  constructor(problem: Problem, headers: Record<string, string> = {}) {
    super(problem.detail);
    this.problem = problem;
    this.headers = headers;
  }
}

export const invalidQuery = (detail: string): Problem => ({
  type: "invalid-query",
  status: 400,
  title: "Invalid query",
  detail,
});

export const tooManyRequests = (detail: string): Problem => ({
  type: "too-many-requests",
  status: 429,
  title: "Too many requests",
  detail,
});

export const internalError: Problem = {
  type: "internal",
  status: 500,
  title: "Internal error",
  detail: "the indexer could not answer this request",
};
