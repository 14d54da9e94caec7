import { z } from "zod";

export const passwordGrant = z.strictObject({
  type: z.literal("password"),
  email: z.email().max(254),
  password: z.string().min(1).max(1024),
});

export const apiKeyGrant = z.strictObject({
  type: z.literal("api_key"),
  apiKey: z.string().min(1).max(200),
});

export const tokenRequest = z.discriminatedUnion("type", [passwordGrant, apiKeyGrant]).meta({
  id: "TokenRequest",
  description:
    "Proof of identity. password: a tenant admin (send X-Project-Key). api_key: a tenant's API key, at its level.",
});
export type TokenRequest = z.infer<typeof tokenRequest>;

export const refreshRequest = z
  .strictObject({ refreshToken: z.string().min(1).max(200) })
  .meta({ id: "RefreshRequest" });

export const jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({ id: "JsonWebKeySet" });
