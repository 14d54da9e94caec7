// Every error the API answers with is a problem (RFC 9457). These factories are the only way to
// make one, so that each kind keeps a stable `type`.
export type ProblemType =
  | "bad-request"
  | "validation-failed"
  | "malformed-json"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "conflict"
  | "business-choice-required"
  | "claim-refused"
  | "payload-too-large"
  | "unsupported-media-type"
  | "unprocessable"
  | "too-many-requests"
  | "unavailable"
  | "internal";

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
};

export const problemTypeUri = (type: ProblemType) => `/problems/${type}`;

export class Problem extends Error {
  readonly type: ProblemType;
  readonly status: number;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    type: ProblemType,
    status: number,
    title: string,
    detail?: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.type = type;
    this.status = status;
    this.title = title;
    this.extensions = extensions;
    this.headers = headers;
  }

  body(instance: string): ProblemBody {
    return {
      type: problemTypeUri(this.type),
      title: this.title,
      status: this.status,
      detail: this.message,
      instance,
      ...this.extensions,
    };
  }
}

export const badRequest = (detail: string) => new Problem("bad-request", 400, "Bad request", detail);
export const validationFailed = (errors: { path: string; message: string }[]) =>
  new Problem("validation-failed", 400, "Validation failed", "The request does not match its schema.", { errors });
export const malformedJson = () => new Problem("malformed-json", 400, "Malformed JSON", "The body is not valid JSON.");
export const unauthorized = (detail = "Authentication is required.") =>
  new Problem("unauthorized", 401, "Unauthorized", detail, {}, { "www-authenticate": 'Bearer realm="pers"' });
export const forbidden = (detail = "Your access level does not allow this.") =>
  new Problem("forbidden", 403, "Forbidden", detail);
export const notFound = (resource: string) => new Problem("not-found", 404, "Not found", `No such ${resource}.`);
export const methodNotAllowed = (allowed: string[]) =>
  new Problem(
    "method-not-allowed",
    405,
    "Method not allowed",
    `Allowed: ${allowed.join(", ")}.`,
    {},
    { allow: allowed.join(", ") },
  );
export const conflict = (detail: string) => new Problem("conflict", 409, "Conflict", detail);
export const businessChoiceRequired = (businesses: { id: string; name: string }[]) =>
  new Problem(
    "business-choice-required",
    409,
    "Business choice required",
    "This user belongs to several businesses: repeat the request with one of them as businessId.",
    { businesses },
  );
/** A claim that breaks one of its campaign's or trigger's rules; `rule` names it (stable, e.g. "cooldown"). */
export const claimRefused = (
  status: 409 | 422,
  rule: string,
  detail: string,
  extensions: Record<string, unknown> = {},
) => new Problem("claim-refused", status, "Claim refused", detail, { rule, ...extensions });
export const payloadTooLarge = (limit: number) =>
  new Problem("payload-too-large", 413, "Payload too large", `The body is larger than ${limit} bytes.`);
export const unsupportedMediaType = (detail: string) =>
  new Problem("unsupported-media-type", 415, "Unsupported media type", detail);
export const unprocessable = (detail: string) => new Problem("unprocessable", 422, "Unprocessable", detail);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new Problem(
    "too-many-requests",
    429,
    "Too many requests",
    `Rate limit reached; retry in ${retryAfterSeconds} s.`,
    {},
    { "retry-after": String(retryAfterSeconds) },
  );
export const unavailable = (detail: string, retryAfterSeconds?: number) =>
  new Problem(
    "unavailable",
    503,
    "Service unavailable",
    detail,
    {},
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) },
  );
export const internal = () =>
  new Problem("internal", 500, "Internal error", "Something went wrong on our side; it has been logged.");
