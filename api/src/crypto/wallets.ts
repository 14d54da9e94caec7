// Custodial wallets: a key made on the server for a user, business or tenant who brings none,
// kept only sealed (./secretBox.ts) and opened only to sign that owner's own requests.
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { open, seal } from "./secretBox.ts";

export type CustodialWallet = { address: Address; keyCiphertext: string };

/** `context` names the owner (e.g. `user:<id>`); the same context opens it. */
export function createCustodialWallet(masterKey: Buffer, context: string): CustodialWallet {
  const privateKey = generatePrivateKey();
  return { address: privateKeyToAccount(privateKey).address, keyCiphertext: seal(masterKey, privateKey, context) };
}

export function openCustodialWallet(masterKey: Buffer, keyCiphertext: string, context: string): PrivateKeyAccount {
  return privateKeyToAccount(open(masterKey, keyCiphertext, context) as Hex);
}
