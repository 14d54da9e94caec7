// Businesses: the places and partners of a tenant, each with its own custodial wallet, and the users
// who act for them (members sign in at level BUSINESS). Anyone who names the tenant sees the public
// fields of its active businesses; ADMIN and SYSTEM see everything; a BUSINESS caller sees and edits
// its own business.
import { randomUUID } from "node:crypto";
import { and, asc, count, desc, eq, ilike } from "drizzle-orm";
import type { Context } from "koa";
import type { Principal } from "../../auth/principal.ts";
import { access } from "../../auth/principal.ts";
import { revokeSessions, revokeSessionsWithin } from "../../auth/sessions.ts";
import { createCustodialWallet } from "../../crypto/wallets.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { businessMembers, businesses, businessTypes, users } from "../../db/schema.ts";
import type { Transaction } from "../../db/client.ts";
import { scopeOf, tenantScope, type TenantScope } from "../../db/scope.ts";
import { conflict, forbidden, notFound } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { likeLiteral } from "../business-types/routes.ts";
import { custodialContext } from "../users/accounts.ts";
import {
  BUSINESS_EDITABLE,
  business,
  businessCreate,
  businessList,
  businessListQuery,
  businessUpdate,
  businessView,
  member,
  memberCreate,
  memberList,
  memberListQuery,
  memberParams,
} from "./schema.ts";

type BusinessRow = typeof businesses.$inferSelect;

const presentPublic = (row: BusinessRow) => ({
  id: row.id,
  name: row.name,
  businessTypeId: row.businessTypeId,
  walletAddress: row.walletAddress,
});

const presentFull = (row: BusinessRow) => ({
  ...presentPublic(row),
  email: row.email,
  custodial: true as const,
  active: row.active,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

const privileged = (principal: Principal | undefined) =>
  principal?.kind === "tenant" && (principal.level === "ADMIN" || principal.level === "SYSTEM");

/** The business a BUSINESS-level caller acts for, if any. */
const ownBusiness = (principal: Principal | undefined) =>
  principal?.kind === "tenant" && principal.level === "BUSINESS" ? principal.businessId : undefined;

/**
 * Ends the sessions of the users who no longer act for a business (it was deactivated, or they were
 * removed from it), in the transaction that makes the change: their BUSINESS access tokens carry
 * only their user's session generation, so all their sessions end and they sign in again, rather
 * than act for it until their tokens expire. Call `again` after the commit: a sign-in whose proof
 * read the business before the change committed but its generation after would keep a session.
 */
function endSessionsOf(tenantId: string, userIds: string[]) {
  const subjects = userIds.map((userId) => `user:${userId}`);
  return {
    within: (tx: Transaction) => revokeSessionsWithin(tx, tenantId, subjects),
    // The change has committed: a failure here is logged, not the request's answer.
    again: (ctx: Context) =>
      revokeSessions(ctx.services, tenantId, subjects).catch((error: unknown) =>
        ctx.log.error({ err: error, tenantId }, "ending sessions again after the commit failed"),
      ),
  };
}

/** The users who act for a business (read in `tx`: PGlite has one connection, which it holds). */
async function membersOf(tx: Transaction, scope: TenantScope, businessId: string) {
  const members = await tx
    .select({ userId: businessMembers.userId })
    .from(businessMembers)
    .where(scope.where(businessMembers, eq(businessMembers.businessId, businessId)));
  return members.map((member) => member.userId);
}

/** Full fields for ADMIN, SYSTEM and the business itself; the public ones for everyone else. */
const presentFor = (principal: Principal | undefined) => (row: BusinessRow) =>
  privileged(principal) || ownBusiness(principal) === row.id ? presentFull(row) : presentPublic(row);

/** A BUSINESS caller reaches only its own business through the routes that manage one: another answers 404. */
function assertOwnOrPrivileged(ctx: Context, id: string) {
  const principal = ctx.state.principal;
  if (!privileged(principal) && ownBusiness(principal) !== id) throw notFound("business");
}

/** A body's businessTypeId must name one of the tenant's own types. */
async function assertBusinessType(scope: TenantScope, id: string | null | undefined) {
  if (id) await scope.find(businessTypes, id, "business type");
}

export function registerBusinesses(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/businesses",
    summary: "Create a business, with a custodial wallet of its own",
    tags: ["businesses"],
    access: access.levels("ADMIN"),
    body: businessCreate,
    responses: { 201: { description: "Created", schema: business } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { name, email, businessTypeId } = ctx.input.body;
      await assertBusinessType(scope, businessTypeId);
      const id = randomUUID();
      const wallet = createCustodialWallet(ctx.services.config.MASTER_KEY, custodialContext("business", id));
      const row = await scope.insert(businesses, {
        id,
        name,
        email: email?.toLowerCase() ?? null,
        businessTypeId: businessTypeId ?? null,
        walletAddress: wallet.address,
        keyCiphertext: wallet.keyCiphertext,
      });
      ctx.status = 201;
      ctx.body = presentFull(row);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/businesses",
    summary: "List businesses (ADMIN and SYSTEM all of them; everyone else the active ones' public fields)",
    tags: ["businesses"],
    access: access.public,
    query: businessListQuery,
    responses: { 200: { description: "A page of businesses", schema: businessList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, businessTypeId, active, name } = ctx.input.query;
      const principal = ctx.state.principal;
      const result = await scopeOf(ctx).list(businesses, {
        page,
        limit,
        order,
        orderBy: sort === "name" ? businesses.name : businesses.createdAt,
        where: [
          privileged(principal) ? undefined : eq(businesses.active, true),
          active === undefined ? undefined : eq(businesses.active, active),
          businessTypeId ? eq(businesses.businessTypeId, businessTypeId) : undefined,
          name ? ilike(businesses.name, likeLiteral(name)) : undefined,
        ],
      });
      ctx.body = { data: result.data.map(presentFor(principal)), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/businesses/:id",
    summary: "Read a business (its public fields, or all of them for ADMIN, SYSTEM and the business itself)",
    tags: ["businesses"],
    access: access.public,
    params: idParams,
    responses: { 200: { description: "The business", schema: businessView } },
    handler: async (ctx) => {
      const principal = ctx.state.principal;
      const row = await scopeOf(ctx).find(businesses, ctx.input.params.id, "business");
      if (!row.active && !privileged(principal) && ownBusiness(principal) !== row.id) throw notFound("business");
      ctx.body = presentFor(principal)(row);
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/businesses/:id",
    summary: "Update a business (ADMIN any field; the business itself its name and email)",
    tags: ["businesses"],
    access: access.levels("ADMIN", "BUSINESS"),
    params: idParams,
    body: businessUpdate,
    responses: { 200: { description: "The updated business", schema: business } },
    handler: async (ctx) => {
      const { id } = ctx.input.params;
      const body = ctx.input.body;
      assertOwnOrPrivileged(ctx, id);
      if (!privileged(ctx.state.principal)) {
        const others = Object.keys(body).filter((field) => !(BUSINESS_EDITABLE as readonly string[]).includes(field));
        if (others.length) {
          throw forbidden(
            `A business may change only its ${BUSINESS_EDITABLE.join(" and ")}; not ${others.join(", ")}.`,
          );
        }
      }
      const scope = scopeOf(ctx);
      await scope.find(businesses, id, "business");
      await assertBusinessType(scope, body.businessTypeId);
      const changes = { ...body, ...(body.email && { email: body.email.toLowerCase() }) };
      const { updated, ended } = await scope.db.transaction(async (tx) => {
        const updated = await tenantScope(tx, scope.tenantId).update(businesses, id, changes, "business");
        if (body.active !== false) return { updated };
        const ended = endSessionsOf(scope.tenantId, await membersOf(tx, scope, id));
        await ended.within(tx);
        return { updated, ended };
      });
      await ended?.again(ctx);
      ctx.body = presentFull(updated);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/businesses/:id",
    summary:
      "Deactivate a business: its members can no longer sign in for it, and their sessions end; its wallet stays",
    tags: ["businesses"],
    access: access.levels("ADMIN"),
    params: idParams,
    responses: { 204: { description: "Deactivated" } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { id } = ctx.input.params;
      const ended = await scope.db.transaction(async (tx) => {
        await tenantScope(tx, scope.tenantId).update(businesses, id, { active: false }, "business");
        const ended = endSessionsOf(scope.tenantId, await membersOf(tx, scope, id));
        await ended.within(tx);
        return ended;
      });
      await ended.again(ctx);
      ctx.status = 204;
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/businesses/:id/members",
    summary: "List the users who act for a business",
    tags: ["businesses"],
    access: access.levels("ADMIN", "SYSTEM", "BUSINESS"),
    params: idParams,
    query: memberListQuery,
    responses: { 200: { description: "A page of members", schema: memberList } },
    handler: async (ctx) => {
      const { id } = ctx.input.params;
      assertOwnOrPrivileged(ctx, id);
      const scope = scopeOf(ctx);
      await scope.find(businesses, id, "business");
      const { page, limit, order } = ctx.input.query;
      const where = and(
        scope.where(businessMembers, eq(businessMembers.businessId, id)),
        scope.where(users, eq(users.id, businessMembers.userId)),
      );
      const [rows, [total]] = await Promise.all([
        scope.db
          .select({
            userId: users.id,
            email: users.email,
            firstName: users.firstName,
            lastName: users.lastName,
            walletAddress: users.walletAddress,
            addedAt: businessMembers.createdAt,
          })
          .from(businessMembers)
          .innerJoin(users, eq(users.id, businessMembers.userId))
          .where(where)
          .orderBy(order === "asc" ? asc(businessMembers.createdAt) : desc(businessMembers.createdAt), asc(users.id))
          .limit(limit)
          .offset((page - 1) * limit),
        scope.db
          .select({ total: count() })
          .from(businessMembers)
          .innerJoin(users, eq(users.id, businessMembers.userId))
          .where(where),
      ]);
      ctx.body = {
        data: rows.map((row) => ({ ...row, addedAt: date(row.addedAt)! })),
        pagination: { page, limit, total: Number(total?.total ?? 0) },
      };
    },
  });

  defineRoute(api, {
    method: "post",
    path: "/businesses/:id/members",
    summary: "Let a user act for a business",
    tags: ["businesses"],
    access: access.levels("ADMIN"),
    params: idParams,
    body: memberCreate,
    errors: [409],
    responses: { 201: { description: "Added", schema: member } },
    handler: async (ctx) => {
      const { id } = ctx.input.params;
      const scope = scopeOf(ctx);
      await scope.find(businesses, id, "business");
      const user = await scope.find(users, ctx.input.body.userId, "user");
      const already = conflict("This user already acts for this business.");
      const [existing] = await scope.db
        .select({ userId: businessMembers.userId })
        .from(businessMembers)
        .where(scope.where(businessMembers, eq(businessMembers.businessId, id), eq(businessMembers.userId, user.id)));
      if (existing) throw already;
      let added;
      try {
        added = await scope.insert(businessMembers, { businessId: id, userId: user.id });
      } catch (error) {
        throw isUniqueViolation(error) ? already : error;
      }
      ctx.status = 201;
      ctx.body = {
        userId: user.id,
        email: user.email,
        firstName: user.firstName,
        lastName: user.lastName,
        walletAddress: user.walletAddress,
        addedAt: date(added.createdAt)!,
      };
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/businesses/:id/members/:userId",
    summary: "Stop a user acting for a business: they can no longer sign in for it, and their sessions end",
    tags: ["businesses"],
    access: access.levels("ADMIN"),
    params: memberParams,
    responses: { 204: { description: "Removed" } },
    handler: async (ctx) => {
      const { id, userId } = ctx.input.params;
      const scope = scopeOf(ctx);
      await scope.find(businesses, id, "business");
      const ended = await scope.db.transaction(async (tx) => {
        const removed = await tx
          .delete(businessMembers)
          .where(scope.where(businessMembers, eq(businessMembers.businessId, id), eq(businessMembers.userId, userId)))
          .returning({ userId: businessMembers.userId });
        if (removed.length === 0) throw notFound("member");
        const ended = endSessionsOf(scope.tenantId, [userId]);
        await ended.within(tx);
        return ended;
      });
      await ended.again(ctx);
      ctx.status = 204;
    },
  });
}
