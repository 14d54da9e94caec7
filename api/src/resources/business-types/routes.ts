// Business types: the tenant's categories of businesses (cafe, shop, partner...).
import { and, eq, ilike } from "drizzle-orm";
import { access } from "../../auth/principal.ts";
import { isUniqueViolation } from "../../db/errors.ts";
import { businessTypes } from "../../db/schema.ts";
import { scopeOf } from "../../db/scope.ts";
import { conflict } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import {
  businessType,
  businessTypeCreate,
  businessTypeList,
  businessTypeListQuery,
  businessTypeUpdate,
} from "./schema.ts";

const present = (row: typeof businessTypes.$inferSelect) => ({
  id: row.id,
  name: row.name,
  description: row.description,
  createdAt: date(row.createdAt)!,
  updatedAt: date(row.updatedAt)!,
});

/** Escapes LIKE's wildcards so that a filter matches its text literally. */
export const likeLiteral = (value: string) => `%${value.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

/** A unique violation on the name is the conflict the route checks for, lost to a racing request. */
const nameTaken = (name: string | undefined) => (error: unknown) => {
  throw isUniqueViolation(error) ? conflict(`A business type named ${name} exists.`) : error;
};

export function registerBusinessTypes(api: Api) {
  defineRoute(api, {
    method: "post",
    path: "/business-types",
    summary: "Create a business type",
    tags: ["business-types"],
    access: access.levels("ADMIN"),
    body: businessTypeCreate,
    errors: [409],
    responses: { 201: { description: "Created", schema: businessType } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { name, description } = ctx.input.body;
      const [taken] = await scope.db
        .select({ id: businessTypes.id })
        .from(businessTypes)
        .where(scope.where(businessTypes, eq(businessTypes.name, name)));
      if (taken) throw conflict(`A business type named ${name} exists.`);
      const created = await scope.insert(businessTypes, { name, description: description ?? null }).catch(
        // Another request created it since the check.
        nameTaken(name),
      );
      ctx.status = 201;
      ctx.body = present(created);
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/business-types",
    summary: "List business types",
    tags: ["business-types"],
    access: access.public,
    query: businessTypeListQuery,
    responses: { 200: { description: "A page of business types", schema: businessTypeList } },
    handler: async (ctx) => {
      const { page, limit, sort, order, name } = ctx.input.query;
      const result = await scopeOf(ctx).list(businessTypes, {
        page,
        limit,
        order,
        orderBy: sort === "name" ? businessTypes.name : businessTypes.createdAt,
        where: [name ? and(ilike(businessTypes.name, likeLiteral(name))) : undefined],
      });
      ctx.body = { data: result.data.map(present), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/business-types/:id",
    summary: "Read a business type",
    tags: ["business-types"],
    access: access.public,
    params: idParams,
    responses: { 200: { description: "The business type", schema: businessType } },
    handler: async (ctx) => {
      ctx.body = present(await scopeOf(ctx).find(businessTypes, ctx.input.params.id, "business type"));
    },
  });

  defineRoute(api, {
    method: "patch",
    path: "/business-types/:id",
    summary: "Update a business type",
    tags: ["business-types"],
    access: access.levels("ADMIN"),
    params: idParams,
    body: businessTypeUpdate,
    errors: [409],
    responses: { 200: { description: "The updated business type", schema: businessType } },
    handler: async (ctx) => {
      const scope = scopeOf(ctx);
      const { name, description } = ctx.input.body;
      if (name !== undefined) {
        const [taken] = await scope.db
          .select({ id: businessTypes.id })
          .from(businessTypes)
          .where(scope.where(businessTypes, eq(businessTypes.name, name)));
        if (taken && taken.id !== ctx.input.params.id) throw conflict(`A business type named ${name} exists.`);
      }
      ctx.body = present(
        await scope
          .update(
            businessTypes,
            ctx.input.params.id,
            { ...(name !== undefined && { name }), ...(description !== undefined && { description }) },
            "business type",
          )
          .catch(nameTaken(name)),
      );
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/business-types/:id",
    summary: "Delete a business type (its businesses keep existing, without a type)",
    tags: ["business-types"],
    access: access.levels("ADMIN"),
    params: idParams,
    responses: { 204: { description: "Deleted" } },
    handler: async (ctx) => {
      await scopeOf(ctx).remove(businessTypes, ctx.input.params.id, "business type");
      ctx.status = 204;
    },
  });
}
