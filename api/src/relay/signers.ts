// The relayer's signers: one small interface, so that a KMS (or a remote signer) can replace the
// local key without touching the worker. The local key is the chain's platform account
// (PLATFORM_PRIVATE_KEY; Hardhat's well-known account 0 on the local chain only, see chains.ts).
import type { Address, Hex, TransactionSerializableEIP1559 } from "viem";
import type { ChainClients } from "../chain/chains.ts";

export type Signer = {
  address: Address;
  /** Returns the signed, serialized transaction (what eth_sendRawTransaction takes). */
  signTransaction: (transaction: TransactionSerializableEIP1559) => Promise<Hex>;
};

/** The signer of a chain's platform account, as chains.ts built it. */
export function platformSigner(chain: ChainClients): Signer {
  const { account } = chain.walletClient;
  if (account.type !== "local" || !account.signTransaction) {
    throw new Error(`chain ${chain.chainId}: the platform account cannot sign locally; give the relayer a Signer`);
  }
  const signTransaction = account.signTransaction.bind(account);
  return { address: account.address, signTransaction: (transaction) => signTransaction(transaction) };
}
