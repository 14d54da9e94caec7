import { z } from "zod";

const wei = z.string().meta({ description: "An amount in wei, in decimal" });

export const signer = z
  .object({
    address: z.string(),
    balance: wei,
    low: z.boolean().meta({ description: "The balance is below SIGNER_LOW_BALANCE_WEI: top it up" }),
  })
  .meta({ id: "ChainSigner" });

const available = z.object({
  chainId: z.number().int(),
  status: z.literal("ok"),
  headBlock: z.number().int(),
  gasPrice: wei,
  lowBalanceThreshold: wei,
  signers: z.array(signer),
});

const unavailable = z.object({
  chainId: z.number().int(),
  status: z.literal("unavailable"),
  detail: z.string(),
  signers: z.array(z.object({ address: z.string() })),
});

export const chainState = z
  .discriminatedUnion("status", [available, unavailable])
  .meta({ id: "Chain", description: "A chain the API writes to, as it answers now" });

export const chainList = z.object({ data: z.array(chainState) }).meta({ id: "ChainList" });

export const chainParams = z.object({ chainId: z.coerce.number().int().positive() });
