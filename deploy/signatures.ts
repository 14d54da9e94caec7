// EIP-712 messages the protocol accepts: claim vouchers for a CampaignRegistry, and requests that
// the ERC-2771 forwarder relays. The domains bind each signature to one chain and one contract.
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { erc2771ForwarderAbi } from "../abi/erc2771Forwarder.ts";
import { FORWARDER_NAME } from "./protocol.ts";

type Signer = WalletClient<Transport, Chain, Account>;

export type ClaimVoucher = {
  campaignId: bigint;
  claimId: bigint;
  recipient: Address;
  source: number;
  business: Address;
  deadline: bigint;
};

export const CAMPAIGN_REGISTRY_DOMAIN_NAME = "PERS CampaignRegistry";

export const claimVoucherTypes = {
  ClaimVoucher: [
    { name: "campaignId", type: "uint256" },
    { name: "claimId", type: "uint256" },
    { name: "recipient", type: "address" },
    { name: "source", type: "uint8" },
    { name: "business", type: "address" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** A claim signer's signature over `voucher` for the registry at `registry` on `chainId`. */
export function signClaimVoucher(
  signer: Signer,
  registry: Address,
  chainId: number,
  voucher: ClaimVoucher,
): Promise<Hex> {
  return signer.signTypedData({
    domain: { name: CAMPAIGN_REGISTRY_DOMAIN_NAME, version: "1", chainId, verifyingContract: registry },
    types: claimVoucherTypes,
    primaryType: "ClaimVoucher",
    message: voucher,
  });
}

export const forwardRequestTypes = {
  ForwardRequest: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "gas", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint48" },
    { name: "data", type: "bytes" },
  ],
} as const;

export type ForwardRequestData = {
  from: Address;
  to: Address;
  value: bigint;
  gas: bigint;
  deadline: number;
  data: Hex;
  signature: Hex;
};

export type SignForwardRequestParameters = {
  publicClient: PublicClient;
  signer: Signer;
  forwarder: Address;
  to: Address;
  data: Hex;
  /** Gas the forwarder gives the call. */
  gas: bigint;
  deadline: number;
  /** The signer's forwarder nonce; read from the forwarder if not given. */
  nonce?: bigint;
  chainId?: number;
};

/** A request for the forwarder's `execute`, signed by `signer` (the `from` the target will see). */
export async function signForwardRequest({
  publicClient,
  signer,
  forwarder,
  to,
  data,
  gas,
  deadline,
  nonce,
  chainId,
}: SignForwardRequestParameters): Promise<ForwardRequestData> {
  const from = signer.account.address;
  const requestNonce =
    nonce ??
    (await publicClient.readContract({
      address: forwarder,
      abi: erc2771ForwarderAbi,
      functionName: "nonces",
      args: [from],
    }));
  const signature = await signer.signTypedData({
    domain: {
      name: FORWARDER_NAME,
      version: "1",
      chainId: chainId ?? (await publicClient.getChainId()),
      verifyingContract: forwarder,
    },
    types: forwardRequestTypes,
    primaryType: "ForwardRequest",
    message: { from, to, value: 0n, gas, nonce: requestNonce, deadline, data },
  });
  return { from, to, value: 0n, gas, deadline, data, signature };
}
