import { z } from "zod";
import { address, uint256 } from "../../http/fields.ts";

const wei = z.string().meta({ description: "An amount in the token's smallest unit, in decimal" });
const evmAddress = z.string().meta({ pattern: "^0x[0-9a-fA-F]{40}$" });

export const tokenClass = z
  .object({
    id: z.string().meta({ description: "The ERC-1155 id, in decimal" }),
    uri: z.string().meta({ description: "The class's URI, or the token's base URI if it has none" }),
    maxSupply: wei.meta({ description: "0 means unlimited" }),
    supply: wei,
  })
  .meta({ id: "TokenClass" });

export const pointsToken = z
  .object({
    type: z.literal("POINTS"),
    address: evmAddress,
    chainId: z.number().int(),
    index: z.number().int().meta({ description: "The token's place among the tenant's points tokens; 0 is the first" }),
    name: z.string(),
    symbol: z.string(),
    decimals: z.number().int(),
    totalSupply: wei,
    paused: z.boolean(),
  })
  .meta({ id: "PointsToken", description: "An ERC-20 points token" });

export const multiToken = z
  .object({
    type: z.enum(["REWARD", "STATUS"]),
    address: evmAddress,
    chainId: z.number().int(),
    paused: z.boolean(),
    classes: z.array(tokenClass),
  })
  .meta({ id: "MultiToken", description: "An ERC-1155 reward token or soulbound status token, with its classes" });

export const token = z.discriminatedUnion("type", [pointsToken, multiToken]).meta({ id: "Token" });

export const tokenList = z.object({ data: z.array(token) }).meta({ id: "TokenList" });

export const tokenParams = z.object({ address });
export const tokenClassParams = z.object({ address, id: uint256 });
