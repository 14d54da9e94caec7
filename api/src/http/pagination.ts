// Lists share one query shape: page, limit, sort, order; each resource adds its filters and names
// the fields it can sort by.
import { z } from "zod";
import { id } from "./fields.ts";

export function listQuery<const Sort extends readonly [string, ...string[]], F extends z.ZodRawShape = {}>(
  sortable: Sort,
  filters: F = {} as F,
) {
  return z.strictObject({
    page: z.coerce.number().int().min(1).max(100_000).default(1),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    sort: z.enum(sortable).default(sortable[0]),
    order: z.enum(["asc", "desc"]).default("desc"),
    ...filters,
  });
}

export function paginated<S extends z.ZodType>(item: S, name: string) {
  return z
    .object({
      data: z.array(item),
      pagination: z.object({ page: z.number().int(), limit: z.number().int(), total: z.number().int() }),
    })
    .meta({ id: `${name}List` });
}

export const idParams = z.object({ id });
