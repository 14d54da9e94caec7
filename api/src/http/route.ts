// A route is declared once: its pipeline (rate limit → authenticate → authorize → rate limit per
// credential → validate → handler) and its OpenAPI description both come from the same spec and
// the same zod schemas.
import type { OpenAPIRegistry, RouteConfig } from "@asteasolutions/zod-to-openapi";
import type Router from "@koa/router";
import type { Middleware, ParameterizedContext } from "koa";
import { z } from "zod";
import { authenticate, authorize } from "../auth/authenticate.ts";
import type { Access } from "../auth/principal.ts";
import { unsupportedMediaType, validationFailed } from "../errors.ts";
import { idempotency, idempotencyHeaders, idempotencyInRoute } from "./idempotency.ts";
import type { RateLimits } from "./rateLimits.ts";

export type Api = { router: Router; registry: OpenAPIRegistry; rateLimits: RateLimits };

type Schema = z.ZodType;
type Output<S> = S extends Schema ? z.output<S> : undefined;

export type RouteInput<P, Q, B> = { params: Output<P>; query: Output<Q>; body: Output<B> };
export type RouteContext<P = undefined, Q = undefined, B = undefined> = ParameterizedContext & {
  input: RouteInput<P, Q, B>;
};

export type Response = { description: string; schema?: Schema; contentType?: string };

export type RouteSpec<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> = {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Koa style: /campaigns/:id */
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** multipart bodies are parsed by the handler's own middleware (see files). */
  bodyType?: "json" | "multipart";
  before?: Middleware[];
  /**
   * Honours Idempotency-Key (./idempotency.ts); every write does unless it opts out (sign-in: its
   * answers are secrets; uploads). "in-route": the handler takes the key and keeps its answer in
   * the transaction that records its effect (takeKeys).
   */
  idempotent?: boolean | "in-route";
  responses: Record<number, Response>;
  /** Problem statuses beyond the ones every route of its kind may answer. */
  errors?: number[];
  handler: (ctx: RouteContext<P, Q, B>) => Promise<void> | void;
};

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details" });

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request or validation failed",
  401: "Missing or invalid credential",
  403: "The credential's level does not allow this",
  404: "Not found (also another tenant's id)",
  409: "Conflict",
  413: "Body too large",
  415: "Unsupported media type",
  422: "Unprocessable",
  429: "Rate limited; see Retry-After",
  500: "Internal error",
  503: "A chain or the database is unavailable",
};

function issuesOf(error: z.ZodError, where: string) {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
}

function validate(spec: { params?: Schema; query?: Schema; body?: Schema; bodyType?: string }): Middleware {
  return async (ctx, next) => {
    const errors: { path: string; message: string }[] = [];
    const parse = (schema: Schema | undefined, value: unknown, where: string) => {
      if (!schema) return undefined;
      const result = schema.safeParse(value);
      if (!result.success) errors.push(...issuesOf(result.error, where));
      return result.data;
    };
    if (spec.body && spec.bodyType !== "multipart" && ctx.request.length && !ctx.is("application/json")) {
      throw unsupportedMediaType("Send the body as application/json.");
    }
    const input = {
      params: parse(spec.params, (ctx as { params?: unknown }).params ?? {}, "params"),
      query: parse(spec.query, ctx.query, "query"),
      body: spec.bodyType === "multipart" ? undefined : parse(spec.body, ctx.request.body ?? {}, "body"),
    };
    // Postgres text cannot hold NUL; refuse it here rather than fail in the database.
    for (const [where, value] of Object.entries({ params: ctx.params, query: ctx.query, body: ctx.request.body })) {
      if (value !== undefined && JSON.stringify(value).includes("\\u0000")) {
        errors.push({ path: where, message: "must not contain NUL characters" });
      }
    }
    if (errors.length) throw validationFailed(errors);
    ctx.input = input;
    await next();
  };
}

const security: Record<Access["kind"], RouteConfig["security"]> = {
  none: [],
  platform: [{ apiKey: [] }],
  tenant: [{ bearerAuth: [] }, { apiKey: [] }],
  public: [{ projectKey: [] }, { bearerAuth: [] }, { apiKey: [] }],
};

export function defineRoute<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(api: Api, declared: RouteSpec<P, Q, B>): void {
  const spec = { ...declared, idempotent: declared.idempotent ?? declared.method !== "get" };
  const pipeline: Middleware[] = [
    api.rateLimits.perIp,
    authenticate,
    authorize(spec.access),
    api.rateLimits.perCredential,
    ...(spec.idempotent ? [spec.idempotent === "in-route" ? idempotencyInRoute : idempotency] : []),
    ...(spec.before ?? []),
    validate(spec),
    spec.handler as unknown as Middleware,
  ];
  api.router[spec.method](spec.path, ...pipeline);

  // 503: any route may find the database (or a chain) unable to answer for a while.
  const statuses = new Set([400, 429, 500, 503, ...(spec.errors ?? [])]);
  if (spec.access.kind !== "none") [401, 403].forEach((status) => statuses.add(status));
  if (spec.params) statuses.add(404);
  if (spec.body) [413, 415].forEach((status) => statuses.add(status));
  if (spec.idempotent) [409, 422].forEach((status) => statuses.add(status));
  const responses: RouteConfig["responses"] = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema && {
        content: { [response.contentType ?? "application/json"]: { schema: response.schema } },
      }),
    };
  }
  for (const status of [...statuses].sort()) {
    responses[status] ??= {
      description: STATUS_TEXT[status] ?? "Problem",
      content: { "application/problem+json": { schema: problemSchema } },
    };
  }
  api.registry.registerPath({
    method: spec.method,
    path: spec.path.replace(/:(\w+)/g, "{$1}"),
    summary: spec.summary,
    tags: spec.tags,
    // A signed-in admin's routes take the bearer token of a password sign-in only.
    security: spec.access.kind === "tenant" && spec.access.signedIn ? [{ bearerAuth: [] }] : security[spec.access.kind],
    request: {
      ...(spec.params && { params: spec.params as never }),
      ...(spec.query && { query: spec.query as never }),
      ...(spec.idempotent && { headers: idempotencyHeaders }),
      ...(spec.body && {
        body: {
          required: true,
          content: {
            [spec.bodyType === "multipart" ? "multipart/form-data" : "application/json"]: { schema: spec.body },
          },
        },
      }),
    },
    responses,
  });
}
