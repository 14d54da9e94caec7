// The user a sign-in proves: found in the tenant by wallet (SIWE) or by the identity provider's
// subject (IdP), or created on their first sign-in. A deactivated user may not sign in.
import { eq } from "drizzle-orm";
import type { Address } from "viem";
import type { TenantScope } from "../../db/scope.ts";
import { users } from "../../db/schema.ts";
import { unauthorized } from "../../errors.ts";
import { createUser } from "../users/accounts.ts";

export type SignInUser = typeof users.$inferSelect;

/** Postgres' unique_violation, however the driver wraps it. */
function isUniqueViolation(error: unknown): boolean {
  for (let cause = error; cause; cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { code?: unknown }).code === "23505") return true;
  }
  return false;
}

async function findUser(scope: TenantScope, condition: ReturnType<typeof eq>): Promise<SignInUser | undefined> {
  const [row] = await scope.db.select().from(users).where(scope.where(users, condition)).limit(1);
  return row;
}

/** Two first sign-ins of one person may race: the loser finds the winner's row. */
async function findOrCreate(
  find: () => Promise<SignInUser | undefined>,
  creations: (() => Promise<SignInUser>)[],
): Promise<SignInUser> {
  const existing = await find();
  if (existing) return ensureActive(existing);
  for (const create of creations) {
    try {
      return await create();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const raced = await find();
      if (raced) return ensureActive(raced);
    }
  }
  throw new Error("findOrCreate: every creation conflicted");
}

function ensureActive(user: SignInUser): SignInUser {
  if (!user.active) throw unauthorized("This user is deactivated.");
  return user;
}

/** A self-custody user: their wallet signed in, the API keeps no key for them. */
export const userByWallet = (scope: TenantScope, masterKey: Buffer, walletAddress: Address) =>
  findOrCreate(
    () => findUser(scope, eq(users.walletAddress, walletAddress)),
    [() => createUser(scope, masterKey, { walletAddress })],
  );

/**
 * The identity provider's user (externalId = its `sub`), created with a custodial wallet. The email
 * is kept when no other user of the tenant has it (it never links to an existing user: that would
 * hand one person's account to whoever controls an IdP account with the same email).
 */
export const userByExternalId = (scope: TenantScope, masterKey: Buffer, externalId: string, email?: string) =>
  findOrCreate(
    () => findUser(scope, eq(users.externalId, externalId)),
    [
      ...(email ? [() => createUser(scope, masterKey, { externalId, email })] : []),
      () => createUser(scope, masterKey, { externalId }),
    ],
  );
