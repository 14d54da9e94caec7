import { z } from "zod";

export const passwordGrant = z
  .strictObject({
    type: z.literal("password"),
    email: z.email().max(254),
    password: z.string().min(1).max(1024),
  })
  .meta({ id: "PasswordGrant", description: "A tenant admin's email and password (send X-Project-Key)" });

export const apiKeyGrant = z
  .strictObject({
    type: z.literal("api_key"),
    apiKey: z.string().min(1).max(200),
  })
  .meta({ id: "ApiKeyGrant", description: "A tenant's API key: the session has the key's level" });

/** A user's sign-in may act for one of the businesses they are a member of. */
const businessContext = {
  businessId: z.uuid().optional().meta({
    description: "Act for this business (the user must be a member and the business active): level BUSINESS",
  }),
  asBusiness: z.boolean().optional().meta({
    description:
      "Act for the user's business: with one membership that one, with several a 409 business-choice-required listing them",
  }),
};
const oneBusinessChoice = (grant: { businessId?: string | undefined; asBusiness?: boolean | undefined }) =>
  !(grant.businessId && grant.asBusiness !== undefined);
const oneBusinessChoiceMessage = { message: "give businessId or asBusiness, not both", path: ["asBusiness"] };

export const siweGrant = z
  .strictObject({
    type: z.literal("siwe"),
    message: z.string().min(1).max(4000).meta({ description: "The EIP-4361 message, with a nonce from /auth/nonce" }),
    signature: z
      .string()
      .regex(/^0x([0-9a-fA-F]{2})+$/, "must be a 0x-prefixed hex signature")
      .max(20_000)
      .transform((value) => value as `0x${string}`),
    ...businessContext,
  })
  .refine(oneBusinessChoice, oneBusinessChoiceMessage)
  .meta({
    id: "SiweGrant",
    description:
      "Sign-In with Ethereum (EIP-4361): the wallet's signature of a message carrying a nonce from POST /auth/nonce (send X-Project-Key). A wallet new to the tenant becomes a user.",
  });

export const idpGrant = z
  .strictObject({
    type: z.literal("idp"),
    token: z.string().min(1).max(16_000).meta({ description: "A JWT from the tenant's own identity provider" }),
    ...businessContext,
  })
  .refine(oneBusinessChoice, oneBusinessChoiceMessage)
  .meta({
    id: "IdpGrant",
    description:
      "A JWT from the identity provider the tenant registered (send X-Project-Key), checked against its JWKS URL or public key, issuer and audience. Its sub names the user; a new one becomes a user with a custodial wallet.",
  });

export const tokenRequest = z.discriminatedUnion("type", [passwordGrant, apiKeyGrant, siweGrant, idpGrant]).meta({
  id: "TokenRequest",
  description:
    "Proof of identity, by type. password: a tenant admin. api_key: a tenant's API key, at its level. siwe: a wallet (EIP-4361). idp: a JWT from the tenant's identity provider. siwe and idp sign in users, with level USER or, with businessId or asBusiness, BUSINESS.",
});
export type TokenRequest = z.infer<typeof tokenRequest>;

export const refreshRequest = z
  .strictObject({ refreshToken: z.string().min(1).max(200) })
  .meta({ id: "RefreshRequest" });

export const siweNonce = z
  .object({
    nonce: z.string().meta({ description: "Put it in the EIP-4361 message's Nonce field; it works once" }),
    expiresAt: z.string(),
  })
  .meta({ id: "SiweNonce" });

export const jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({ id: "JsonWebKeySet" });
