// ERC-2771 forward requests made by the API: the typed data a holder signs, the nonce each request
// takes (reserved in forward_nonces so that two queued requests of one signer never share one), and
// the check of a holder's signature.
import { and, eq, gte, lt, max, sql } from "drizzle-orm";
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  ExecutionRevertedError,
  verifyTypedData,
  type Address,
  type Hex,
} from "viem";
import type { LocalAccount } from "viem/accounts";
import { erc2771ForwarderAbi } from "../../../abi/erc2771Forwarder.ts";
import { pointsTokenAbi } from "../../../abi/pointsToken.ts";
import { redemptionRegistryAbi } from "../../../abi/redemptionRegistry.ts";
import { rewardTokenAbi } from "../../../abi/rewardToken.ts";
import { statusTokenAbi } from "../../../abi/statusToken.ts";
import { FORWARDER_NAME } from "../../../deploy/protocol.ts";
import { forwardRequestTypes } from "../../../deploy/signatures.ts";
import type { ChainClients } from "../chain/chains.ts";
import type { Database } from "../db/client.ts";
import { forwardNonces } from "../db/redemptionsSchema.ts";
import { conflict, Problem } from "../errors.ts";

export type ForwardRequest = {
  from: Address;
  to: Address;
  value: bigint;
  gas: bigint;
  nonce: bigint;
  deadline: number;
  data: Hex;
};

/** How long a request the API makes stays valid on chain. */
export const FORWARD_REQUEST_TTL_SECONDS = 3600;

export const forwardDomain = (chainId: number, forwarder: Address) => ({
  name: FORWARDER_NAME,
  version: "1",
  chainId,
  verifyingContract: forwarder,
});

export function forwardTypedData(chainId: number, forwarder: Address, request: ForwardRequest) {
  return {
    domain: forwardDomain(chainId, forwarder),
    types: forwardRequestTypes,
    primaryType: "ForwardRequest" as const,
    message: request,
  };
}

/**
 * The typed data as JSON for a wallet's eth_signTypedData_v4 (EIP712Domain included, numbers as
 * decimal strings); viem's signTypedData takes it as well.
 */
export function typedDataJson(chainId: number, forwarder: Address, request: ForwardRequest) {
  return {
    domain: forwardDomain(chainId, forwarder),
    types: {
      EIP712Domain: [
        { name: "name", type: "string" },
        { name: "version", type: "string" },
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ],
      ...forwardRequestTypes,
    },
    primaryType: "ForwardRequest" as const,
    message: {
      from: request.from,
      to: request.to,
      value: request.value.toString(),
      gas: request.gas.toString(),
      nonce: request.nonce.toString(),
      deadline: request.deadline,
      data: request.data,
    },
  };
}

export const forwarderOf = (chain: ChainClients) => chain.deployment.contracts.forwarder;

/** The signer's next nonce as the forwarder counts it. */
export function forwarderNonce(chain: ChainClients, signer: Address): Promise<bigint> {
  return chain.publicClient.readContract({
    address: forwarderOf(chain),
    abi: erc2771ForwarderAbi,
    functionName: "nonces",
    args: [signer],
  });
}

const key = (chainId: number, forwarder: Address, signer: Address) =>
  and(
    eq(forwardNonces.chainId, chainId),
    eq(forwardNonces.forwarder, forwarder.toLowerCase()),
    eq(forwardNonces.signer, signer.toLowerCase()),
  );

/** The nonce a new request of `signer` should carry: after the chain's and after every one reserved. */
export async function nextNonce(
  db: Pick<Database, "select">,
  chainId: number,
  forwarder: Address,
  signer: Address,
  chainNonce: bigint,
): Promise<bigint> {
  const [row] = await db
    .select({ highest: max(forwardNonces.nonce) })
    .from(forwardNonces)
    .where(key(chainId, forwarder, signer));
  const reserved = row?.highest === null || row?.highest === undefined ? -1n : BigInt(row.highest);
  return reserved + 1n > chainNonce ? reserved + 1n : chainNonce;
}

/** Reserves `nonce` for a request of `signer`; false when another request holds it. */
export async function reserveNonce(
  db: Pick<Database, "insert">,
  chainId: number,
  forwarder: Address,
  signer: Address,
  nonce: bigint,
): Promise<boolean> {
  const inserted = await db
    .insert(forwardNonces)
    .values({ chainId, forwarder: forwarder.toLowerCase(), signer: signer.toLowerCase(), nonce: Number(nonce) })
    .onConflictDoNothing()
    .returning({ nonce: forwardNonces.nonce });
  return inserted.length === 1;
}

/**
 * Refuses (429) a request of a wallet that has had `perHour` requests queued in the last hour: each is
 * relayed at the platform's cost and counts against its tenant's gas, so one holder must not spend
 * it for every other. Reads the wallet's latest `perHour` nonces only (the key's index, newest first).
 * Call inside the transaction that reserves the nonce.
 */
export async function assertWalletWithinLimit(
  db: Pick<Database, "execute">,
  chainId: number,
  forwarder: Address,
  signer: Address,
  perHour: number,
): Promise<void> {
  // Counted under the wallet's lock: requests of it at once each count those before them.
  await db.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`pers:wallet:${chainId}:${forwarder.toLowerCase()}:${signer.toLowerCase()}`}, 0))`,
  );
  const { rows } = await db.execute<{ queued: number; oldest: Date | string | null }>(sql`
    select count(*)::int as queued, min(created_at) as oldest from (
      select created_at from ${forwardNonces}
      where chain_id = ${chainId} and forwarder = ${forwarder.toLowerCase()} and signer = ${signer.toLowerCase()}
      order by nonce desc limit ${perHour}
    ) latest where created_at > now() - interval '1 hour'`);
  const { queued, oldest } = rows[0]!;
  if (queued < perHour || oldest === null) return;
  const retryAfter = Math.max(1, Math.ceil((new Date(oldest).getTime() + 3_600_000 - Date.now()) / 1000));
  throw new Problem(
    "too-many-requests",
    429,
    "Too many requests",
    `This wallet has had ${perHour} requests relayed in the last hour (RELAYER_WALLET_REQUESTS_PER_HOUR); retry in ${retryAfter} s.`,
    {},
    { "retry-after": String(retryAfter) },
  );
}

/** Reserves the next free nonce of `signer` (inside the caller's transaction). */
export async function reserveNextNonce(
  db: Pick<Database, "select" | "insert">,
  chainId: number,
  forwarder: Address,
  signer: Address,
  chainNonce: bigint,
): Promise<bigint> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const nonce = await nextNonce(db, chainId, forwarder, signer, chainNonce);
    if (await reserveNonce(db, chainId, forwarder, signer, nonce)) return nonce;
  }
  throw conflict("Too many requests of this wallet at once; try again.");
}

/** Frees a nonce the forwarder did not use (its request was refused), for the signer's next request. */
export async function releaseNonce(
  db: Pick<Database, "delete">,
  chainId: number,
  forwarder: Address,
  signer: Address,
  nonce: bigint,
): Promise<void> {
  await db.delete(forwardNonces).where(and(key(chainId, forwarder, signer), eq(forwardNonces.nonce, Number(nonce))));
}

/** Whether a nonce in [from, below) is reserved: an earlier request of the signer still queued. */
export async function earlierNonceQueued(
  db: Pick<Database, "select">,
  chainId: number,
  forwarder: Address,
  signer: Address,
  from: bigint,
  below: bigint,
): Promise<boolean> {
  const [row] = await db
    .select({ nonce: forwardNonces.nonce })
    .from(forwardNonces)
    .where(
      and(
        key(chainId, forwarder, signer),
        gte(forwardNonces.nonce, Number(from)),
        lt(forwardNonces.nonce, Number(below)),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** A custodial holder's signature, made with their key opened for this one request. */
export function signForCustodian(account: LocalAccount, chainId: number, forwarder: Address, request: ForwardRequest) {
  return account.signTypedData(forwardTypedData(chainId, forwarder, request));
}

/** The order of secp256k1's group: `s` and `n - s` make a valid signature alike. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The one form of a 65-byte signature that OpenZeppelin's ECDSA (hence the forwarder) accepts: `v`
 * 27 or 28, `s` in the lower half of the order. Wallets may give `v` as 0 or 1, and a signature with
 * the other `s` is as valid to the curve; the signer recovered from either is the same. Undefined
 * when it is not 65 bytes with a `v` of 0, 1, 27 or 28.
 */
export function canonicalSignature(signature: Hex): Hex | undefined {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined;
  let v = Number.parseInt(signature.slice(130), 16);
  if (v === 0 || v === 1) v += 27;
  if (v !== 27 && v !== 28) return undefined;
  let s = BigInt(`0x${signature.slice(66, 130)}`);
  if (s > SECP256K1_N / 2n) {
    s = SECP256K1_N - s;
    v = v === 27 ? 28 : 27;
  }
  return `0x${signature.slice(2, 66)}${s.toString(16).padStart(64, "0")}${v.toString(16)}`.toLowerCase() as Hex;
}

/** Whether `signature` recovers to `request.from` over exactly this request, as the forwarder checks it. */
export async function verifyForwardSignature(
  chain: ChainClients,
  request: ForwardRequest,
  signature: Hex,
): Promise<boolean> {
  const typedData = forwardTypedData(chain.chainId, forwarderOf(chain), request);
  try {
    return await verifyTypedData({ address: request.from, signature, ...typedData });
  } catch {
    // A signature that is not 65 bytes of r, s, v (or otherwise malformed).
    return false;
  }
}

/** Every custom error a forwarded call to a tenant contract may revert with. */
const tenantErrors = [...redemptionRegistryAbi, ...pointsTokenAbi, ...rewardTokenAbi, ...statusTokenAbi].filter(
  (item) => item.type === "error",
);

/** `Name(arg, arg)` for a revert's data; undefined when the error is not a revert (the RPC failed). */
export function revertReasonOf(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const raw = error.walk((cause) => typeof (cause as { data?: unknown }).data === "string");
  const data = (raw as { data?: Hex } | null)?.data;
  if (data && data.length >= 10) {
    try {
      const decoded = decodeErrorResult({ abi: tenantErrors, data });
      return `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`;
    } catch {
      return `reverted with ${data.slice(0, 10)}`;
    }
  }
  if (
    error.walk((cause) => cause instanceof ExecutionRevertedError || cause instanceof ContractFunctionRevertedError)
  ) {
    return "reverted";
  }
  return undefined;
}

export type Simulation = { ok: true; gas: bigint } | { ok: false; reason: string };

/**
 * Runs the call the forwarder would make, from its signer (the target sees the same sender either
 * way), and estimates its gas. A revert is an answer (`ok: false` and why), a failed RPC is thrown.
 */
export async function simulateForwarded(
  chain: ChainClients,
  call: { from: Address; to: Address; data: Hex },
): Promise<Simulation> {
  try {
    return {
      ok: true,
      gas: await chain.publicClient.estimateGas({ account: call.from, to: call.to, data: call.data }),
    };
  } catch (error) {
    const reason = revertReasonOf(error);
    if (reason === undefined) throw error;
    return { ok: false, reason };
  }
}

/** The gas a request gives its call: the estimate with a margin, within what a batch can carry. */
export const forwardGasFor = (estimate: bigint, ceiling: bigint) => {
  const padded = estimate + estimate / 2n + 20_000n;
  return padded > ceiling ? ceiling : padded;
};
