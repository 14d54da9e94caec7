// The Koa application: request id and logs, problem+json for every error, JSON bodies with a size
// limit, then the resources' routes. The OpenAPI document is built from the same route specs.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import cors from "@koa/cors";
import Router from "@koa/router";
import Koa, { type Middleware } from "koa";
import { methodNotAllowed, notFound } from "./errors.ts";
import { jsonBody } from "./http/body.ts";
import type { Services } from "./http/context.ts";
import { requestLogging } from "./http/logging.ts";
import { problemJson } from "./http/problems.ts";
import { createRateLimits } from "./http/rateLimits.ts";
import { defineRoute, type Api } from "./http/route.ts";
import { access } from "./auth/principal.ts";
import { z } from "zod";
import { resources } from "./resources.ts";

/** What the router did not serve: 405 with Allow for a known path, 404 for an unknown one. */
const unmatchedRoutes: Middleware = async (ctx, next) => {
  await next();
  if (ctx.status === 405 || ctx.status === 501) throw methodNotAllowed(ctx.response.get("allow").split(/,\s*/));
  if (ctx.status === 404 && ctx.body === undefined) throw notFound(`route ${ctx.method} ${ctx.path}`);
};

export function createApp(services: Services) {
  const { config } = services;
  // ctx.ip is then the first of the last TRUST_PROXY_HOPS X-Forwarded-For entries: the address the
  // outermost trusted proxy saw, not the leftmost entry a client can forge. Without TRUST_PROXY Koa
  // reads no X-Forwarded-For at all.
  const app = new Koa({ proxy: config.TRUST_PROXY, maxIpsCount: config.TRUST_PROXY_HOPS });
  app.context.services = services;
  // Koa would print errors thrown outside our middleware (none expected) to stderr; log them instead.
  app.silent = true;
  app.on("error", (error) => services.logger.error({ err: error }, "koa error"));

  const router = new Router();
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  registry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "X-API-Key" });
  registry.registerComponent("securitySchemes", "projectKey", { type: "apiKey", in: "header", name: "X-Project-Key" });
  const api: Api = {
    router,
    registry,
    rateLimits: createRateLimits({
      perIp: config.RATE_LIMIT_PER_IP,
      perKey: config.RATE_LIMIT_PER_KEY,
      signInPerIp: config.AUTH_RATE_LIMIT_PER_IP,
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    }),
  };
  for (const register of resources) register(api);

  let document: ReturnType<OpenApiGeneratorV31["generateDocument"]> | undefined;
  const openApiDocument = () =>
    (document ??= new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: {
        title: "PERS API",
        version: "0.1.0",
        description: "The PERS protocol's API: identity and access, tenants and the off-chain half of the programme.",
      },
      servers: [{ url: "/" }],
    }));
  defineRoute(api, {
    method: "get",
    path: "/openapi.json",
    summary: "This document: OpenAPI 3.1, generated from the schemas that validate the requests",
    tags: ["meta"],
    access: access.none,
    responses: { 200: { description: "The OpenAPI document", schema: z.record(z.string(), z.unknown()) } },
    handler: (ctx) => {
      ctx.body = openApiDocument();
    },
  });

  app.use(requestLogging);
  app.use(problemJson);
  app.use(
    cors({
      // Credentials travel in headers, never cookies, so no origin gets ambient authority.
      origin: (ctx) => {
        const origin = ctx.get("origin");
        return config.CORS_ORIGINS.includes("*") ? "*" : config.CORS_ORIGINS.includes(origin) ? origin : "";
      },
      allowHeaders: ["authorization", "content-type", "x-api-key", "x-project-key", "x-request-id", "idempotency-key"],
      exposeHeaders: ["x-request-id", "retry-after", "location"],
      maxAge: 600,
    }),
  );
  app.use(unmatchedRoutes);
  app.use(jsonBody(config.BODY_LIMIT_BYTES));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, router, openApiDocument };
}
