// Liveness and readiness for load balancers and orchestrators.
import { z } from "zod";
import { access } from "../../auth/principal.ts";
import { unavailable } from "../../errors.ts";
import { defineRoute, type Api } from "../../http/route.ts";

const status = z.object({ status: z.enum(["ok"]) }).meta({ id: "Status" });

export function registerHealth(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/health",
    summary: "The process is up",
    tags: ["health"],
    access: access.none,
    responses: { 200: { description: "Up", schema: status } },
    handler: (ctx) => {
      ctx.body = { status: "ok" };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/ready",
    summary: "The process can serve: its database answers",
    tags: ["health"],
    access: access.none,
    errors: [503],
    responses: { 200: { description: "Ready", schema: status } },
    handler: async (ctx) => {
      if (!(await ctx.services.ping())) throw unavailable("The database does not answer.");
      ctx.body = { status: "ok" };
    },
  });
}
