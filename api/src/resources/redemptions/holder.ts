// Whose tokens a request moves: a USER's own, or the user an ADMIN or SYSTEM caller names.
import type { Context } from "koa";
import { users } from "../../db/schema.ts";
import type { TenantScope } from "../../db/scope.ts";
import { forbidden, unprocessable, validationFailed } from "../../errors.ts";

export async function holderOf(ctx: Context, scope: TenantScope, userId: string | undefined, field = "body.userId") {
  const principal = ctx.state.principal;
  if (principal?.kind !== "tenant") throw forbidden();
  let id = userId;
  if (principal.level === "USER") {
    if (userId !== undefined && userId !== principal.userId) throw forbidden("A user acts only for themself.");
    id = principal.userId;
  } else if (id === undefined) {
    throw validationFailed([{ path: field, message: "required: the user this is for" }]);
  }
  const user = await scope.find(users, id!, "user");
  if (!user.active) throw unprocessable("This user is deactivated.");
  return user;
}
