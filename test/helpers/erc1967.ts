// Reads an ERC-1967 proxy's implementation address from its storage slot.
import { getAddress, hexToBigInt, keccak256, stringToHex, toHex, type Address, type PublicClient } from "viem";

/** bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1) */
export const IMPLEMENTATION_SLOT = toHex(hexToBigInt(keccak256(stringToHex("eip1967.proxy.implementation"))) - 1n, {
  size: 32,
});

export async function implementationOf(publicClient: PublicClient, proxy: Address): Promise<Address> {
  const word = await publicClient.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT });
  if (word === undefined) throw new Error(`no storage at ${proxy}`);
  return getAddress(`0x${word.slice(-40)}`);
}
