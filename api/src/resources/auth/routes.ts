// Tokens: exchanging proof of identity for a session, refreshing it, the nonce a Sign-In-with-
// Ethereum message carries, and the public keys that verify access tokens.
import type { Context } from "koa";
import { access } from "../../auth/principal.ts";
import { databaseNow } from "../../auth/revocations.ts";
import { refreshSession, sessionSchema, startSession } from "../../auth/sessions.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { apiKeyGrant, passwordGrant, type Subject } from "./grants.ts";
import { idpGrant } from "./idp.ts";
import { jwks, refreshRequest, siweNonce, tokenRequest, type TokenRequest } from "./schema.ts";
import { issueNonce, siweGrant } from "./siwe.ts";

function prove(ctx: Context, request: TokenRequest): Promise<Subject> {
  switch (request.type) {
    case "password":
      return passwordGrant(ctx, request);
    case "api_key":
      return apiKeyGrant(ctx, request);
    case "siwe":
      return siweGrant(ctx, request);
    case "idp":
      return idpGrant(ctx, request);
  }
}

export function registerAuth(api: Api) {
  defineRoute(api, {
    method: "post",
    // Its answers are fresh secrets (tokens, nonces), never to be stored for replay.
    idempotent: false,
    path: "/auth/token",
    summary: "Exchange proof of identity (password, API key, Sign-In with Ethereum, the tenant's IdP) for tokens",
    tags: ["auth"],
    access: access.none,
    before: [api.rateLimits.signIn],
    body: tokenRequest,
    errors: [401, 403, 409, 503],
    responses: { 200: { description: "A new session", schema: sessionSchema } },
    handler: async (ctx) => {
      // Before the proof is checked: a revocation after this may postdate what it was checked against.
      const provenAt = await databaseNow(ctx.services.db);
      ctx.body = await startSession(ctx.services, await prove(ctx, ctx.input.body), provenAt);
    },
  });

  defineRoute(api, {
    method: "post",
    // Its answers are fresh secrets (tokens, nonces), never to be stored for replay.
    idempotent: false,
    path: "/auth/nonce",
    summary: "A nonce for a Sign-In-with-Ethereum message (EIP-4361); it works once, for a few minutes",
    tags: ["auth"],
    access: access.public,
    before: [api.rateLimits.signIn],
    responses: { 200: { description: "The nonce", schema: siweNonce } },
    handler: async (ctx) => {
      ctx.set("cache-control", "no-store");
      ctx.body = await issueNonce(ctx);
    },
  });

  defineRoute(api, {
    method: "post",
    // Its answers are fresh secrets (tokens, nonces), never to be stored for replay.
    idempotent: false,
    path: "/auth/refresh",
    summary: "Rotate a refresh token; a reused one revokes its whole family",
    tags: ["auth"],
    access: access.none,
    before: [api.rateLimits.signIn],
    body: refreshRequest,
    errors: [401],
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
