import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";
import { address, httpsUrl, name } from "../../http/fields.ts";

const idp = z
  .strictObject({
    issuer: z.string().min(1).max(500),
    audience: z.string().min(1).max(500),
    jwksUrl: httpsUrl.optional().meta({
      description:
        "https (http only where the API allows it), without credentials, on a public host: the API fetches it",
    }),
    publicJwk: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((value) => Boolean(value.jwksUrl) !== Boolean(value.publicJwk), "give exactly one of jwksUrl and publicJwk")
  .meta({ id: "IdentityProvider", description: "The tenant's identity provider, whose JWTs sign users in" });

export const tenantCreate = z
  .strictObject({
    name,
    externalId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, '.', '_' and '-', at most 64"),
    chainId: z.number().int().positive().optional(),
    adminAddress: address.optional().meta({
      description: "The tenant's own admin wallet (e.g. a Safe); without it the API keeps a custodial one",
    }),
    points: z.strictObject({
      name,
      symbol: z.string().regex(/^[A-Za-z0-9]{1,11}$/, "1 to 11 letters or digits"),
      decimals: z.number().int().min(0).max(18).default(18),
    }),
    rewardUri: httpsUrl.optional(),
    statusUri: httpsUrl.optional(),
    admin: z.strictObject({
      email: z.email().max(254),
      name,
      password: z.string().min(12).max(200),
    }),
    idp: idp.optional(),
  })
  .meta({ id: "TenantCreate" });

export const tenantUpdate = z
  .strictObject({ name: name.optional(), idp: idp.nullable().optional(), active: z.boolean().optional() })
  .meta({ id: "TenantUpdate" });

export const tenant = z
  .object({
    id: z.uuid(),
    name: z.string(),
    externalId: z.string(),
    projectKey: z.string(),
    chainId: z.number().int(),
    onchainId: z.string(),
    adminAddress: z.string(),
    adminCustodial: z.boolean(),
    contracts: z.record(z.string(), z.string()),
    creationTransaction: z.string(),
    idp: z
      .object({
        issuer: z.string(),
        audience: z.string(),
        jwksUrl: z.string().nullable(),
        publicJwk: z.record(z.string(), z.unknown()).nullable(),
      })
      .nullable(),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Tenant" });

export const tenantCreated = z
  .object({ tenant, admin: z.object({ id: z.uuid(), email: z.string() }) })
  .meta({ id: "TenantCreated" });

export const tenantList = paginated(tenant, "Tenant");
export const tenantListQuery = listQuery(["createdAt", "name"], {
  active: z.stringbool().optional(),
  chainId: z.coerce.number().int().positive().optional(),
});
