// Tokens: exchanging proof of identity for a session, refreshing it, and the public keys that
// verify access tokens.
import { access } from "../../auth/principal.ts";
import { refreshSession, sessionSchema, startSession } from "../../auth/sessions.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { apiKeyGrant, passwordGrant } from "./grants.ts";
import { jwks, refreshRequest, tokenRequest } from "./schema.ts";

export function registerAuth(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/auth/token",
    summary: "Exchange proof of identity for an access token and a refresh token",
    tags: ["auth"],
    access: access.none,
    before: [api.rateLimits.signIn],
    body: tokenRequest,
    errors: [409],
    responses: { 200: { description: "A new session", schema: sessionSchema } },
    handler: async (ctx) => {
      const request = ctx.input.body;
      const subject = request.type === "password" ? await passwordGrant(ctx, request) : await apiKeyGrant(ctx, request);
      ctx.body = await startSession(ctx.services, subject);
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/auth/refresh",
    summary: "Rotate a refresh token; a reused one revokes its whole family",
    tags: ["auth"],
    access: access.none,
    before: [api.rateLimits.signIn],
    body: refreshRequest,
    responses: { 200: { description: "The rotated session", schema: sessionSchema } },
    handler: async (ctx) => {
      ctx.body = await refreshSession(ctx.services, ctx.input.body.refreshToken);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/.well-known/jwks.json",
    summary: "The public keys that verify access tokens: the current and the previous signing keys",
    tags: ["auth"],
    access: access.none,
    responses: { 200: { description: "JSON Web Key Set", schema: jwks } },
    handler: async (ctx) => {
      ctx.set("cache-control", "public, max-age=60");
      ctx.body = await ctx.services.keys.jwks();
    },
  });
}
