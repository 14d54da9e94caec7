// Event values as the schema stores them: enum numbers by the names the contracts give them (from
// abi/enums.ts, never retyped), token amounts as JSON with decimal strings.
import { ClaimSource, ContractKind, IssueReason } from "../../abi/enums.ts";

/** The member of a generated enum whose value is `value`. */
function nameOf<members extends Record<string, number>>(members: members, value: number): keyof members & string {
  const name = Object.keys(members).find((key) => members[key] === value);
  if (name === undefined) throw new Error(`indexer: ${value} is not a member of ${Object.keys(members).join("/")}`);
  return name;
}

export const claimSourceName = (source: number) => nameOf(ClaimSource, source);

export const contractKindName = (kind: number) => nameOf(ContractKind, kind);

/** An issue's reason is the cause of its mint. */
export const issueCause = (reason: number) => nameOf(IssueReason, reason);

export const amountsJson = (items: readonly { token: string; id: bigint; amount: bigint }[]) =>
  items.map(({ token, id, amount }) => ({ token, id: String(id), amount: String(amount) }));
