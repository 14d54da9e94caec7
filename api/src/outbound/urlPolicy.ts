// What a URL that a tenant gives the API to fetch (a webhook endpoint, an identity provider's JWKS)
// must be, checked when it is registered: https (http only where a flag allows it), no credentials,
// and a host that is neither a non-public IP literal nor a name that only means something inside
// our network. Names are checked again, resolved, when the API connects (./agent.ts).
import { isIP } from "node:net";
import { validationFailed } from "../errors.ts";
import { nonPublicRangeOf } from "./addressRanges.ts";

export type OutboundUrlPolicy = {
  allowHttp: boolean;
  /** Local development and tests: private addresses and local names are allowed. */
  allowPrivateNetworks: boolean;
};

/** Names for this machine or the local network only (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const LOCAL_SUFFIXES = ["localhost", "localdomain", "local", "internal", "home.arpa"];

function localNameProblem(hostname: string): string | undefined {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  const suffix = LOCAL_SUFFIXES.find((local) => name === local || name.endsWith(`.${local}`));
  if (suffix) return `must name a public host, not a .${suffix} name`;
  // A name without a dot is completed with the server's search domains: an internal host.
  if (!name.includes(".")) return "must name a public host by its full name";
  return undefined;
}

/** Why `url` may not be registered under `policy`, or undefined when it may. */
export function outboundUrlProblem(url: string, policy: OutboundUrlPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be a URL";
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && policy.allowHttp)) {
    return "must be an https URL";
  }
  if (parsed.username || parsed.password) return "must not carry credentials (user:password@)";
  if (policy.allowPrivateNetworks) return undefined;
  // The URL parser has already turned other spellings (2130706433, 0x7f.1, 127.1) into this form.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (isIP(host)) {
    const range = nonPublicRangeOf(host);
    return range && `must not point to ${host}, a non-public address (${range})`;
  }
  return localNameProblem(host);
}

/** Throws a validation problem naming `path` when `url` (if given) may not be registered. */
export function assertOutboundUrl(url: string | undefined, path: string, policy: OutboundUrlPolicy): void {
  const problem = url === undefined ? undefined : outboundUrlProblem(url, policy);
  if (problem) throw validationFailed([{ path, message: problem }]);
}
