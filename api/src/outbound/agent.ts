// Connections to URLs that tenants gave the API (webhook endpoints, identity providers' JWKS) go
// through an undici Agent whose connector refuses non-public addresses: an IP literal before
// connecting, a name inside the DNS lookup whose answer the socket then connects to. Checking inside
// the lookup pins the connection to the addresses checked: a name that resolves to a public address
// for a check and to 127.0.0.1 a moment later (DNS rebinding) cannot get through, since there is no
// second resolution. Every connection the agent makes is checked, a redirect's too.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { Agent, buildConnector, fetch, Response, type RequestInit } from "undici";
import { nonPublicRangeOf } from "./addressRanges.ts";

export class OutboundAddressRefused extends Error {
  override name = "OutboundAddressRefused";
}

export type OutboundAgentParameters = {
  /** Local development and tests: connect to any address. */
  allowPrivateNetworks: boolean;
  /** dns.lookup unless given (tests make names resolve where they want). */
  lookup?: LookupFunction;
};

export type OutboundFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

function refusalOf(host: string, address: string): OutboundAddressRefused | undefined {
  const range = nonPublicRangeOf(address);
  if (!range) return undefined;
  const what = host === address ? address : `${host} resolves to ${address}`;
  return new OutboundAddressRefused(
    `${what}, a non-public address (${range}): the API does not connect to private networks`,
  );
}

/** `resolve`, answering an error instead when any address of the name is non-public. */
function checkedLookup(resolve: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const answers = addresses as LookupAddress[];
      for (const { address } of answers) {
        const refused = refusalOf(hostname, address);
        if (refused) return callback(refused, "");
      }
      const [first] = answers;
      if (options.all) callback(null, answers);
      else if (first) callback(null, first.address, first.family);
      else callback(new Error(`no address for ${hostname}`), "");
    });
  };
}

export function createOutboundAgent(parameters: OutboundAgentParameters): Agent {
  const lookup = parameters.lookup ?? (dnsLookup as LookupFunction);
  if (parameters.allowPrivateNetworks) return new Agent({ connect: { lookup } });
  const connect = buildConnector({ lookup: checkedLookup(lookup) });
  return new Agent({
    connect: (options, callback) => {
      // The socket resolves no IP literal: it is checked here.
      const host = options.hostname.replace(/^\[(.*)\]$/, "$1");
      const refused = isIP(host) ? refusalOf(host, host) : undefined;
      if (refused) return callback(refused, null);
      connect(options, callback);
    },
  });
}

const processAgents = new Map<boolean, Agent>();

/** The process's agent for this policy, made once so that its connections are pooled. */
export function processOutboundAgent(allowPrivateNetworks: boolean): Agent {
  let agent = processAgents.get(allowPrivateNetworks);
  if (!agent) processAgents.set(allowPrivateNetworks, (agent = createOutboundAgent({ allowPrivateNetworks })));
  return agent;
}

/** fetch whose every connection goes through `agent`. */
export const outboundFetch =
  (agent: Agent): OutboundFetch =>
  (url, init) =>
    fetch(url, { ...init, dispatcher: agent });

export class OutboundBodyTooLarge extends Error {
  override name = "OutboundBodyTooLarge";
}

/**
 * The response with its body read whole, refused past `maxBytes`: a tenant's URL could answer with
 * a body without end, which a JSON parser would hold in memory whole.
 */
export async function withBodyCap(response: Response, maxBytes: number): Promise<Response> {
  const tooLarge = () => new OutboundBodyTooLarge(`the answer is larger than ${maxBytes} bytes`);
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream: nothing past the cap is read.
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return new Response(Buffer.concat(chunks), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** The refusal that made a fetch fail (fetch carries it as a cause), or undefined when it failed otherwise. */
export function outboundRefusalOf(error: unknown): OutboundAddressRefused | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof OutboundAddressRefused) return cause;
  }
  return undefined;
}
