// The address ranges the API never connects to on a tenant's behalf (SSRF): everything that is not
// a public unicast address (IANA's special-purpose registries, RFC 6890). Node's net.BlockList does
// the matching, and matches an IPv4-mapped IPv6 address (::ffff:10.0.0.1) against the IPv4 ranges.
import { BlockList, isIP } from "node:net";

type Subnet = readonly [network: string, prefix: number];

const RANGES: Record<string, readonly Subnet[]> = {
  loopback: [
    ["127.0.0.0", 8],
    ["::1", 128],
  ],
  unspecified: [
    ["0.0.0.0", 8],
    ["::", 128],
  ],
  private: [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
  ],
  "carrier-grade NAT": [["100.64.0.0", 10]],
  "link-local": [
    ["169.254.0.0", 16],
    ["fe80::", 10],
  ],
  "unique-local": [
    ["fc00::", 7],
    // Site-local, deprecated but still routed inside some networks.
    ["fec0::", 10],
  ],
  multicast: [
    ["224.0.0.0", 4],
    ["ff00::", 8],
  ],
  // Addresses that carry an IPv4 address inside (NAT64, 6to4, Teredo, IPv4-compatible): a gateway
  // would unwrap a private one.
  "IPv4-embedding": [
    ["64:ff9b::", 96],
    ["64:ff9b:1::", 48],
    ["2002::", 16],
    ["2001::", 32],
    ["::", 96],
  ],
  reserved: [
    ["192.0.0.0", 24],
    ["192.0.2.0", 24],
    ["192.88.99.0", 24],
    ["198.18.0.0", 15],
    ["198.51.100.0", 24],
    ["203.0.113.0", 24],
    ["240.0.0.0", 4],
    ["100::", 64],
    ["2001:db8::", 32],
  ],
};

const BLOCK_LISTS = Object.entries(RANGES).map(([name, subnets]) => {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, isIP(network) === 6 ? "ipv6" : "ipv4");
  return { name, list };
});

/** The name of the non-public range `address` (an IP literal, brackets allowed) is in, or undefined when it is public. */
export function nonPublicRangeOf(address: string): string | undefined {
  const bare = address.replace(/^\[(.*)\]$/, "$1");
  const version = isIP(bare);
  if (version === 0) throw new TypeError(`not an IP address: ${address}`);
  const type = version === 6 ? "ipv6" : "ipv4";
  return BLOCK_LISTS.find(({ list }) => list.check(bare, type))?.name;
}
