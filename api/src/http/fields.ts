// Field schemas shared by resources.
import { getAddress, isAddress } from "viem";
import { z } from "zod";

export const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), "must be an EVM address (0x and 40 hex digits)")
  .transform((value) => getAddress(value))
  .meta({ type: "string", pattern: "^0x[0-9a-fA-F]{40}$", example: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" });

/** A record's id as a request names it, in lower case: ids are compared as text (an upper-case one must not pass for another). */
export const id = z
  .uuid()
  .transform((value) => value.toLowerCase())
  .meta({ type: "string", format: "uuid" });

export const name = z.string().trim().min(1).max(120);
export const text = z.string().max(5000);
export const httpsUrl = z.url({ protocol: /^https?$/ }).max(2000);
/** From 1970 on: a chain's clock starts there (a campaign's start is a uint40 of seconds), and the year 0000 is no date. */
export const timestamp = z.iso
  .datetime({ offset: true })
  .refine((value) => Date.parse(value) >= 0, "must be 1970-01-01T00:00:00Z or later");
/** Token amounts in the token's smallest unit, as decimal strings (they exceed JavaScript numbers). */
export const uint256 = z
  .string()
  // abort: the refinement below must not see a value that is not digits (BigInt would throw).
  .regex(/^\d{1,78}$/, { message: "must be a non-negative integer in decimal", abort: true })
  .refine((value) => BigInt(value) < 2n ** 256n, "must fit in 256 bits");
export const date = (value: Date | null) => value?.toISOString() ?? null;
