// Admins: the people who run a tenant. Only admins signed in manage them (not an API key); an admin
// cannot lock themself out, and a tenant keeps at least one active admin.
import { asc, eq, ilike } from "drizzle-orm";
import type { Context } from "koa";
import { access } from "../../auth/principal.ts";
import { revokeSessions } from "../../auth/sessions.ts";
import { hashPassword } from "../../crypto/hashing.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { admins } from "../../db/schema.ts";
import { scopeOf, tenantScope, type TenantScope } from "../../db/scope.ts";
import { conflict, notFound } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { likeLiteral } from "../business-types/routes.ts";
import { admin, adminCreate, adminList, adminListQuery, adminUpdate } from "./schema.ts";

const present = (row: typeof admins.$inferSelect) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  active: row.active,
  lastLoginAt: date(row.lastLoginAt),
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

const emailTaken = (email: string) => conflict(`An admin with email ${email} exists.`);

async function assertEmailFree(scope: TenantScope, email: string) {
  const [taken] = await scope.db
    .select({ id: admins.id })
    .from(admins)
    .where(scope.where(admins, eq(admins.email, email)));
  if (taken) throw emailTaken(email);
}

/** Deactivating oneself would leave the caller locked out mid-request: refused. */
function assertNotSelf(ctx: Context, id: string) {
  const principal = ctx.state.principal;
  if (principal?.kind === "tenant" && principal.adminId === id) throw conflict("An admin cannot deactivate themself.");
}

type AdminChanges = { name?: string; passwordHash?: string; active?: boolean };

/**
 * Changes an admin with every admin row of the tenant locked until it commits: two changes of who is
 * active (two admins deactivating each other at once) run one after the other, the second reading
 * what the first left. A deactivation that would leave no active admin is refused (409): nobody could
 * sign in to manage the tenant again.
 */
async function changeAdmin(scope: TenantScope, id: string, changes: AdminChanges) {
  return scope.db.transaction(async (tx) => {
    const rows = await tx
      .select({ id: admins.id, active: admins.active })
      .from(admins)
      .where(scope.where(admins))
      .orderBy(asc(admins.id))
      .for("update");
    const target = rows.find((row) => row.id === id);
    if (!target) throw notFound("admin");
    const othersActive = rows.some((row) => row.active && row.id !== id);
    if (changes.active === false && target.active && !othersActive) {
      throw conflict("This is the tenant's last active admin: activate another admin first.");
    }
    return tenantScope(tx, scope.tenantId).update(admins, id, changes, "admin");
  });
}

export function registerAdmins(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/admins",
    summary: "Create an admin (the password is stored as a scrypt hash); an admin signed in only, not an API key",
    tags: ["admins"],
    access: access.signedInAdmin,
    body: adminCreate,
    errors: [409],
    responses: { 201: { description: "Created", schema: admin } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const email = ctx.input.body.email.toLowerCase();
      await assertEmailFree(scope, email);
      const passwordHash = await hashPassword(ctx.input.body.password);
      try {
        ctx.body = present(await scope.insert(admins, { email, name: ctx.input.body.name, passwordHash }));
      } catch (error) {
        // Two creations racing past the check above.
        throw isUniqueViolation(error) ? emailTaken(email) : error;
      }
      ctx.status = 201;
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/admins",
    summary: "List the tenant's admins",
    tags: ["admins"],
    access: access.levels("ADMIN"),
    query: adminListQuery,
    responses: { 200: { description: "A page of admins", schema: adminList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, active, email } = ctx.input.query;
      const result = await scopeOf(ctx).list(admins, {
        page,
        limit,
        order,
        orderBy: { createdAt: admins.createdAt, email: admins.email, name: admins.name }[sort],
        where: [
          active === undefined ? undefined : eq(admins.active, active),
          email ? ilike(admins.email, likeLiteral(email)) : undefined,
        ],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/admins/:id",
    summary: "Read an admin",
    tags: ["admins"],
    access: access.levels("ADMIN"),
    params: idParams,
    responses: { 200: { description: "The admin", schema: admin } },
    handler: async (ctx) => {
      ctx.body = present(await scopeOf(ctx).find(admins, ctx.input.params.id, "admin"));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/admins/:id",
    summary:
      "Update an admin's name or password (which ends their sessions), or (de)activate them (not oneself, nor the last active admin); an admin signed in only, not an API key",
    tags: ["admins"],
    access: access.signedInAdmin,
    params: idParams,
    body: adminUpdate,
    errors: [409],
    responses: { 200: { description: "The updated admin", schema: admin } },
    handler: async (ctx) => {
      const { id } = ctx.input.params;
      const { name, password, active } = ctx.input.body;
      if (active === false) assertNotSelf(ctx, id);
      const scope = scopeOf(ctx);
      const updated = await changeAdmin(scope, id, {
        ...(name !== undefined && { name }),
        ...(password !== undefined && { passwordHash: await hashPassword(password) }),
        ...(active !== undefined && { active }),
      });
      // A new password or a deactivation ends the sessions made before it (a stolen refresh token
      // must not outlive either, nor come back with a reactivation): after it, so that none made
      // with the old password in between survives. In a transaction of its own, after the change has
      // committed: a revocation stamps the time its transaction began, and a sign-in proven after that
      // time (against the row as it was before the commit) would be let through.
      if (password !== undefined || active === false) await revokeSessions(ctx.services, scope.tenantId, `admin:${id}`);
      ctx.body = present(updated);
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/admins/:id",
    summary:
      "Deactivate an admin: they can no longer sign in, and their sessions end (not oneself, nor the last active admin); an admin signed in only, not an API key",
    tags: ["admins"],
    access: access.signedInAdmin,
    params: idParams,
    errors: [409],
    responses: { 204: { description: "Deactivated" } },
    handler: async (ctx) => {
      const { id } = ctx.input.params;
      assertNotSelf(ctx, id);
      const scope = scopeOf(ctx);
      await changeAdmin(scope, id, { active: false });
      // After the change has committed, as for PATCH above.
      await revokeSessions(ctx.services, scope.tenantId, `admin:${id}`);
      ctx.status = 204;
    },
  });
}
