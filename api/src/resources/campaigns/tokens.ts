// What one claim of a campaign pays: amounts of the tenant's own tokens (points with token id 0, or
// a class of its reward or status token). The CampaignRegistry takes at most MAX_PAYOUTS of them,
// each token once, each amount above zero and within a uint88.
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { access } from "../../auth/principal.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { campaignTokens, campaigns, tenants, type TenantContracts } from "../../db/schema.ts";
import { scopeOf, tenantScope, type TenantScope } from "../../db/scope.ts";
import { conflict, notFound, validationFailed } from "../../errors.ts";
import { address, date, id, uint256 } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { lockedOpenCampaign, openCampaign } from "./owned.ts";
import { isPublished, payoutsChanged } from "./publishing.ts";
import { visibleCampaign } from "./visibility.ts";

/** CampaignRegistry.MAX_PAYOUTS */
export const MAX_PAYOUTS = 8;
const MAX_AMOUNT = 2n ** 88n - 1n;
const isDecimal = (value: string) => /^\d+$/.test(value);
const TOKEN_CONTRACTS = ["pointsToken", "rewardToken", "statusToken"] as const;
type TokenContract = (typeof TOKEN_CONTRACTS)[number];

const campaignTokenAdd = z
  .strictObject({
    tokenAddress: address.meta({ description: "The tenant's pointsToken, rewardToken or statusToken" }),
    tokenId: uint256.default("0").meta({ description: "0 for points; a defined class for the others" }),
    amount: uint256
      .refine((value) => !isDecimal(value) || BigInt(value) > 0n, "must be above zero")
      .refine(
        (value) => !isDecimal(value) || BigInt(value) <= MAX_AMOUNT,
        "must fit in 88 bits (the registry stores it so)",
      )
      .meta({ description: "Paid per claim, in the token's smallest unit" }),
  })
  .meta({ id: "CampaignTokenAdd" });

const campaignToken = z
  .object({
    id: z.uuid(),
    tokenAddress: z.string(),
    token: z.enum(TOKEN_CONTRACTS).nullable().meta({ description: "Which of the tenant's token contracts" }),
    tokenId: z.string(),
    amount: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: "CampaignToken" });
const campaignTokenList = z.object({ data: z.array(campaignToken) }).meta({ id: "CampaignTokenList" });
const campaignTokenParams = idParams.extend({ campaignTokenId: id });

async function tokenContractsOf(scope: TenantScope): Promise<Map<string, TokenContract>> {
  const [tenant] = await scope.db
    .select({ contracts: tenants.contracts })
    .from(tenants)
    .where(eq(tenants.id, scope.tenantId))
    .limit(1);
  const contracts = tenant?.contracts ?? ({} as Partial<TenantContracts>);
  return new Map(
    TOKEN_CONTRACTS.filter((name) => contracts[name]).map((name) => [contracts[name]!.toLowerCase(), name]),
  );
}

const present =
  (contracts: Map<string, TokenContract>) =>
  (row: typeof campaignTokens.$inferSelect): z.infer<typeof campaignToken> => ({
    id: row.id,
    tokenAddress: row.tokenAddress,
    token: contracts.get(row.tokenAddress.toLowerCase()) ?? null,
    tokenId: row.tokenId,
    amount: row.amount,
    createdAt: date(row.createdAt)!,
  });

const tokensOf = (scope: TenantScope, campaignId: string) =>
  scope.db
    .select()
    .from(campaignTokens)
    .where(scope.where(campaignTokens, eq(campaignTokens.campaignId, campaignId)))
    .orderBy(asc(campaignTokens.createdAt), asc(campaignTokens.id));

const managers = access.levels("ADMIN", "SYSTEM");

export function registerCampaignTokens(api: Api) {
  defineRoute(api, {
    method: "get",
    path: "/campaigns/:id/tokens",
    summary: "What one claim of a campaign pays",
    tags: ["campaigns"],
    access: access.public,
    params: idParams,
    responses: { 200: { description: "The campaign's payouts", schema: campaignTokenList } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const campaign = await visibleCampaign(ctx, scope, ctx.input.params.id);
      const contracts = await tokenContractsOf(scope);
      ctx.body = { data: (await tokensOf(scope, campaign.id)).map(present(contracts)) };
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/campaigns/:id/tokens",
    summary: `Add a payout to a campaign (at most ${MAX_PAYOUTS}, each token once)`,
    tags: ["campaigns"],
    access: managers,
    params: idParams,
    body: campaignTokenAdd,
    errors: [409],
    responses: { 201: { description: "Added", schema: campaignToken } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { tokenAddress, tokenId, amount } = ctx.input.body;
      const paidTwice = conflict("The campaign already pays this token: remove that payout first.");
      const { contracts, row } = await scope.db
        .transaction(async (tx) => {
          const locked = tenantScope(tx, scope.tenantId);
          const campaign = await lockedOpenCampaign(locked, ctx.input.params.id);
          const contracts = await tokenContractsOf(locked);
          const token = contracts.get(tokenAddress.toLowerCase());
          if (!token) throw notFound("token contract of this tenant at that address");
          if (token === "pointsToken" && BigInt(tokenId) !== 0n) {
            throw validationFailed([{ path: "body.tokenId", message: "points have token id 0" }]);
          }
          const existing = await tokensOf(locked, campaign.id);
          if (existing.some((row) => row.tokenAddress.toLowerCase() === tokenAddress.toLowerCase())) throw paidTwice;
          if (existing.length >= MAX_PAYOUTS) throw conflict(`A campaign pays at most ${MAX_PAYOUTS} tokens.`);
          const row = await locked.insert(campaignTokens, {
            campaignId: campaign.id,
            tokenAddress,
            tokenId: BigInt(tokenId).toString(),
            amount: BigInt(amount).toString(),
          });
          await payoutsChanged(tx, campaign);
          return { contracts, row };
        })
        .catch((error: unknown) => {
          // The lock keeps a second payout of a token out; the unique index campaign_tokens_token is
          // what still holds should a write come another way.
          throw isUniqueViolation(error) ? paidTwice : error;
        });
      ctx.status = 201;
      ctx.body = present(contracts)(row);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/campaigns/:id/tokens/:campaignTokenId",
    summary: "Remove a payout from a campaign",
    tags: ["campaigns"],
    access: managers,
    params: campaignTokenParams,
    errors: [409],
    responses: { 204: { description: "Removed" } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      await scope.db.transaction(async (tx) => {
        const locked = tenantScope(tx, scope.tenantId);
        const campaign = await lockedOpenCampaign(locked, ctx.input.params.id);
        const row = await locked.find(campaignTokens, ctx.input.params.campaignTokenId, "campaign token");
        if (row.campaignId !== campaign.id) throw notFound("campaign token");
        const payouts = await tokensOf(locked, campaign.id);
        if (payouts.length === 1 && (await isPublished(tx, campaign.id))) {
          throw conflict("A campaign on chain pays at least one token: add another payout before removing this one.");
        }
        await locked.remove(campaignTokens, row.id, "campaign token");
        await payoutsChanged(tx, campaign);
      });
      ctx.status = 204;
    },
  });
}
