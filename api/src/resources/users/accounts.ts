// Creating a user: with the wallet they bring, or with a custodial one made here (its key sealed
// under the master key, bound to the user's id). Shared by /users and the sign-in grants that
// create a user on first sign-in.
import { randomUUID } from "node:crypto";
import type { Address } from "viem";
import { createCustodialWallet } from "../../crypto/wallets.ts";
import type { TenantScope } from "../../db/scope.ts";
import { users } from "../../db/schema.ts";

export type NewUser = {
  walletAddress?: Address;
  externalId?: string | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  segments?: string[];
};

export const custodialContext = (kind: "user" | "business", id: string) => `${kind}:${id}`;

export async function createUser(scope: TenantScope, masterKey: Buffer, user: NewUser) {
  const id = randomUUID();
  const custodial = user.walletAddress ? undefined : createCustodialWallet(masterKey, custodialContext("user", id));
  return scope.insert(users, {
    id,
    walletAddress: user.walletAddress ?? custodial!.address,
    keyCiphertext: custodial?.keyCiphertext ?? null,
    externalId: user.externalId ?? null,
    email: user.email?.toLowerCase() ?? null,
    firstName: user.firstName ?? null,
    lastName: user.lastName ?? null,
    segments: user.segments ?? [],
  });
}
