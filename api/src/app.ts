// The Koa application: request id and logs, problem+json for every error, JSON bodies with a size
// limit, then the resources' routes. The OpenAPI document is built from the same route specs.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import Router from "@koa/router";
import Koa from "koa";
import { methodNotAllowed, notFound, Problem } from "./errors.ts";
import { jsonBody } from "./http/body.ts";
import type { Services } from "./http/context.ts";
import { requestLogging } from "./http/logging.ts";
import { problemJson } from "./http/problems.ts";
import { createRateLimits } from "./http/rateLimits.ts";
import type { Api } from "./http/route.ts";
import { resources } from "./resources.ts";

export function createApp(services: Services) {
  const { config } = services;
  const app = new Koa({ proxy: config.TRUST_PROXY });
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
  router.get("/openapi.json", (ctx) => {
    ctx.body = openApiDocument();
  });

  app.use(requestLogging);
  app.use(problemJson);
  app.use(jsonBody(config.BODY_LIMIT_BYTES));
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => methodNotAllowed(["see /openapi.json"]),
      notImplemented: () => new Problem("method-not-allowed", 501, "Not implemented"),
    }),
  );
  app.use((ctx) => {
    throw notFound(`route ${ctx.method} ${ctx.path}`);
  });
  return { app, openApiDocument };
}
