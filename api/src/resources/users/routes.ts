// Users: the tenant's members. ADMIN and SYSTEM manage them; a USER sees and edits only their own
// row (another user's id answers 404). Users who bring no wallet get a custodial one (./accounts.ts)
// whose key never leaves the database.
import { eq, ilike, sql } from "drizzle-orm";
import type { Context } from "koa";
import type { TenantPrincipal } from "../../auth/principal.ts";
import { access } from "../../auth/principal.ts";
import { revokeSessions } from "../../auth/sessions.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { users } from "../../db/schema.ts";
import { scopeOf, type TenantScope } from "../../db/scope.ts";
import { conflict, forbidden, notFound } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { likeLiteral } from "../business-types/routes.ts";
import { createUser } from "./accounts.ts";
import { USER_EDITABLE, user, userCreate, userList, userListQuery, userUpdate } from "./schema.ts";
import { changesCampaignLists } from "../campaigns/listCache.ts";

type UserRow = typeof users.$inferSelect;

export const presentUser = (row: UserRow) => ({
  id: row.id,
  walletAddress: row.walletAddress,
  custodial: row.keyCiphertext !== null,
  externalId: row.externalId,
  email: row.email,
  emailVerified: row.emailVerified,
  firstName: row.firstName,
  lastName: row.lastName,
  segments: row.segments,
  active: row.active,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

type Identifiers = {
  walletAddress?: string | undefined;
  email?: string | null | undefined;
  externalId?: string | null | undefined;
};

/** 409 naming the field when another user of the tenant holds one of these identifiers. */
async function assertIdentifiersFree(scope: TenantScope, given: Identifiers, except?: string) {
  const checks = [
    ["walletAddress", given.walletAddress, users.walletAddress],
    ["email", given.email, users.email],
    ["externalId", given.externalId, users.externalId],
  ] as const;
  for (const [field, value, column] of checks) {
    if (value === undefined || value === null) continue;
    const [taken] = await scope.db
      .select({ id: users.id })
      .from(users)
      .where(scope.where(users, eq(column, value)));
    if (taken && taken.id !== except) throw conflict(`Another user of this tenant has this ${field}.`);
  }
}

/** Runs a write that the checks above passed; a racing write that took an identifier is still a 409. */
async function uniquely<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    throw isUniqueViolation(error)
      ? conflict("Another user of this tenant has this walletAddress, email or externalId.")
      : error;
  }
}

/** The user row a caller may see under this id: a USER only their own (another's answers 404). */
async function visibleUser(ctx: Context, id: string): Promise<UserRow> {
  const principal = ctx.state.principal as TenantPrincipal;
  if (principal.level === "USER" && principal.userId !== id) throw notFound("user");
  return scopeOf(ctx).find(users, id, "user");
}

export function registerUsers(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/users",
    summary: "Create a user; without walletAddress the API makes and keeps a custodial wallet",
    tags: ["users"],
    access: access.levels("ADMIN", "SYSTEM"),
    body: userCreate,
    errors: [409],
    responses: { 201: { description: "Created", schema: user } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const input = { ...ctx.input.body, email: ctx.input.body.email?.toLowerCase() };
      await assertIdentifiersFree(scope, input);
      ctx.body = presentUser(await uniquely(createUser(scope, ctx.services.config.MASTER_KEY, input)));
      ctx.status = 201;
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/users",
    summary: "List the tenant's users",
    tags: ["users"],
    access: access.levels("ADMIN", "SYSTEM", "BUSINESS"),
    query: userListQuery,
    responses: { 200: { description: "A page of users", schema: userList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, email, walletAddress, segment, active } = ctx.input.query;
      const result = await scopeOf(ctx).list(users, {
        page,
        limit,
        order,
        orderBy: {
          createdAt: users.createdAt,
          email: users.email,
          firstName: users.firstName,
          lastName: users.lastName,
        }[sort],
        where: [
          email ? ilike(users.email, likeLiteral(email)) : undefined,
          walletAddress ? eq(sql`lower(${users.walletAddress})`, walletAddress.toLowerCase()) : undefined,
          segment ? sql`${segment} = any(${users.segments})` : undefined,
          active === undefined ? undefined : eq(users.active, active),
        ],
      });
      ctx.body = { data: result.data.map(presentUser), pagination: result.pagination };
    },
  });

  // Before /users/:id, which would otherwise take "me" for an id.
  defineRoute(api, {
    method: "get",
    path: "/users/me",
    summary: "Read the signed-in user",
    tags: ["users"],
    access: access.levels("USER"),
    responses: { 200: { description: "The caller's own user", schema: user } },
    handler: async (ctx) => {
      const principal = ctx.state.principal as TenantPrincipal;
      if (!principal.userId) throw notFound("user");
      ctx.body = presentUser(await scopeOf(ctx).find(users, principal.userId, "user"));
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/users/:id",
    summary: "Read a user (a USER only themself)",
    tags: ["users"],
    access: access.levels("ADMIN", "SYSTEM", "BUSINESS", "USER"),
    params: idParams,
    responses: { 200: { description: "The user", schema: user } },
    handler: async (ctx) => {
      ctx.body = presentUser(await visibleUser(ctx, ctx.input.params.id));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/users/:id",
    summary:
      "Update a user (ADMIN and SYSTEM any field; a USER only their own firstName, lastName and email, which is then unverified)",
    tags: ["users"],
    access: access.levels("ADMIN", "SYSTEM", "USER"),
    // A user's segments decide which targeted campaigns they see.
    before: [changesCampaignLists],
    params: idParams,
    body: userUpdate,
    errors: [409],
    responses: { 200: { description: "The updated user", schema: user } },
    handler: async (ctx) => {
      const principal = ctx.state.principal as TenantPrincipal;
      const body = ctx.input.body;
      if (principal.level === "USER") {
        const others = Object.keys(body).filter((field) => !(USER_EDITABLE as readonly string[]).includes(field));
        if (others.length)
          throw forbidden(`A user may change only ${USER_EDITABLE.join(", ")}; not ${others.join(", ")}.`);
      }
      const existing = await visibleUser(ctx, ctx.input.params.id);
      if (body.walletAddress !== undefined && body.walletAddress !== existing.walletAddress && existing.keyCiphertext) {
        throw conflict("This user's wallet is custodial: its address cannot change.");
      }
      const changes = {
        ...body,
        ...(body.email && { email: body.email.toLowerCase() }),
        // An email the user typed in is theirs to claim, not proof that they own it.
        ...(body.email !== undefined && { emailVerified: principal.level !== "USER" }),
      };
      const scope = scopeOf(ctx);
      await assertIdentifiersFree(scope, changes, existing.id);
      ctx.body = presentUser(await uniquely(scope.update(users, existing.id, changes, "user")));
      if (body.active === false) await revokeSessions(ctx.services, scope.tenantId, `user:${existing.id}`);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/users/:id",
    summary: "Deactivate a user: they can no longer sign in, and their sessions end; their wallet and history stay",
    tags: ["users"],
    access: access.levels("ADMIN", "SYSTEM"),
    params: idParams,
    responses: { 204: { description: "Deactivated" } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { id } = await scope.update(users, ctx.input.params.id, { active: false }, "user");
      // Their sessions end: a refresh token from before must not come back with a reactivation.
      await revokeSessions(ctx.services, scope.tenantId, `user:${id}`);
      ctx.status = 204;
    },
  });
}
