import { parseCidrList } from "./cidr.js";

/** How close a client address must be to one already seen for a token not to count as new. */
export type AddressGranularity = "address" | "subnet";

export const ADDRESS_GRANULARITIES: readonly AddressGranularity[] = ["address", "subnet"];

/** The networks that count as one place under the "subnet" granularity: a /24 for IPv4, a /64 for IPv6. */
export const SUBNET_PREFIX = { 4: 24, 6: 64 } as const;

/**
 * A client address in canonical text: dotted decimal for IPv4 (also when a dual-stack socket reported it
 * as `::ffff:a.b.c.d`), RFC 5952 for IPv6. Anything that is not an IP address is returned unchanged, so
 * it still counts as one address of its own.
 *
 * @example
 * canonicalAddress("::ffff:192.0.2.7") // "192.0.2.7"
 * canonicalAddress("2001:DB8:0:0::1") // "2001:db8::1"
 */
export function canonicalAddress(ip: string): string {
  const parsed = parseCidrList([ip]);
  if (!parsed.ok) return ip;
  const cidr = parsed.cidrs[0]!;
  return cidr.slice(0, cidr.lastIndexOf("/"));
}

/**
 * What "the same place" means for new-address alerts: the canonical address itself, or the network it
 * belongs to (`192.0.2.0/24`, `2001:db8:1:2::/64`).
 *
 * @example
 * addressKey("192.0.2.7", "subnet") // "192.0.2.0/24"
 * addressKey("192.0.2.7", "address") // "192.0.2.7"
 */
export function addressKey(ip: string, granularity: AddressGranularity): string {
  const address = canonicalAddress(ip);
  if (granularity === "address") return address;
  const prefix = address.includes(":") ? SUBNET_PREFIX[6] : SUBNET_PREFIX[4];
  const network = parseCidrList([`${address}/${prefix}`]);
  return network.ok ? network.cidrs[0]! : address;
}
