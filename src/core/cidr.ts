import { BlockList, isIP } from "node:net";

/**
 * IP allow-lists for tokens: parsing and normalising CIDR lists, and compiling them into a matcher.
 *
 * Canonical text form (what `parseCidrList` returns and what is stored):
 * - IPv4: dotted decimal `a.b.c.d/p`.
 * - IPv6: RFC 5952 (lowercase, longest run of two or more zero groups compressed) `…/p`.
 * - A bare address becomes `/32` or `/128`; host bits below the prefix are cleared (`10.1.2.3/8` →
 *   `10.0.0.0/8`), so two spellings of one network compare equal and dedupe.
 * - An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) becomes the IPv4 network (`10.0.0.0/8`): a
 *   dual-stack socket reports IPv4 clients in mapped form, and the matcher compares those as IPv4.
 */

/** At most this many entries per list: an allow-list is a short policy, not a geo database. */
export const MAX_CIDR_ENTRIES = 100;

export type CidrListResult = { ok: true; cidrs: string[] } | { ok: false; error: string };

interface Network {
  family: 4 | 6;
  /** 4 or 16 bytes, host bits cleared. */
  bytes: Uint8Array;
  prefix: number;
}

const PREFIX_TEXT = /^(0|[1-9][0-9]{0,2})$/;

/** Bytes of an address Node's `isIP` accepted (family given); no zone id. */
function addressBytes(text: string, family: 4 | 6): Uint8Array {
  if (family === 4) return Uint8Array.from(text.split(".").map(Number));
  const bytes = new Uint8Array(16);
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) is the last two 16-bit groups: rewrite it in hex first.
  let head = text;
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split(".").map(Number);
    head = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  let tailWords: number[] = [];
  const doubleColon = head.indexOf("::");
  let headWords: number[];
  if (doubleColon >= 0) {
    const left = head.slice(0, doubleColon);
    const right = head.slice(doubleColon + 2);
    headWords = left === "" ? [] : left.split(":").map((w) => Number.parseInt(w, 16));
    tailWords = right === "" ? [] : right.split(":").map((w) => Number.parseInt(w, 16));
  } else {
    headWords = head.split(":").map((w) => Number.parseInt(w, 16));
  }
  const words = new Array<number>(8).fill(0);
  headWords.forEach((w, i) => {
    words[i] = w;
  });
  tailWords.forEach((w, i) => {
    words[8 - tailWords.length + i] = w;
  });
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

function isMappedIpv4(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function clearHostBits(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const bitsKept = Math.min(8, Math.max(0, prefix - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - bitsKept)) & 0xff);
  }
  return out;
}

function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: compress the longest run of zero groups (the first one on a tie), never a single group.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function formatNetwork(network: Network): string {
  const address = network.family === 4 ? network.bytes.join(".") : formatIpv6(network.bytes);
  return `${address}/${network.prefix}`;
}

/** Parses one entry (already trimmed), or returns a reason it is not a CIDR. */
function parseNetwork(entry: string): Network | string {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? null : entry.slice(slash + 1);
  if (address.includes("%")) return "zone ids (%…) are not allowed";
  const family = isIP(address);
  if (family !== 4 && family !== 6) return "not an IPv4 or IPv6 address";
  const maxPrefix = family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== null) {
    if (!PREFIX_TEXT.test(prefixText) || Number(prefixText) > maxPrefix) {
      return `the prefix length must be a whole number from 0 to ${maxPrefix}`;
    }
    prefix = Number(prefixText);
  }
  let bytes = addressBytes(address, family);
  let resultFamily: 4 | 6 = family;
  if (family === 6 && prefix >= 96 && isMappedIpv4(bytes)) {
    bytes = bytes.slice(12);
    prefix -= 96;
    resultFamily = 4;
  }
  return { family: resultFamily, bytes: clearHostBits(bytes, prefix), prefix };
}

function describe(entry: string): string {
  const shown = entry.length > 60 ? `${entry.slice(0, 60)}…` : entry;
  return JSON.stringify(shown);
}

/**
 * Validates and normalises a list of CIDRs or bare addresses (see the canonical form above). Duplicates
 * (after normalisation) are dropped, keeping the first. Never throws.
 *
 * @example
 * parseCidrList(["10.1.2.3/8", "2001:DB8::1"]) // { ok: true, cidrs: ["10.0.0.0/8", "2001:db8::1/128"] }
 * parseCidrList(["10.0.0.0/33"]) // { ok: false, error: 'Entry 1 ("10.0.0.0/33") is not a valid CIDR: …' }
 */
export function parseCidrList(input: readonly string[]): CidrListResult {
  if (!Array.isArray(input)) return { ok: false, error: "The allow-list must be a list of CIDRs." };
  if (input.length > MAX_CIDR_ENTRIES) {
    return { ok: false, error: `The allow-list may have at most ${MAX_CIDR_ENTRIES} entries.` };
  }
  const cidrs: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < input.length; i++) {
    const raw: unknown = input[i];
    if (typeof raw !== "string") return { ok: false, error: `Entry ${i + 1} is not a string.` };
    const entry = raw.trim();
    if (entry === "") return { ok: false, error: `Entry ${i + 1} is empty.` };
    const network = parseNetwork(entry);
    if (typeof network === "string") {
      return { ok: false, error: `Entry ${i + 1} (${describe(entry)}) is not a valid CIDR: ${network}.` };
    }
    const text = formatNetwork(network);
    if (!seen.has(text)) {
      seen.add(text);
      cidrs.push(text);
    }
  }
  return { ok: true, cidrs };
}

function contains(outer: Network, inner: Network): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  const masked = clearHostBits(inner.bytes, outer.prefix);
  return masked.every((byte, i) => byte === outer.bytes[i]);
}

/**
 * The first of `inner` (normalised CIDRs) that no network of `outer` contains, or null when every one
 * lies inside `outer`: a token may only hand out an allow-list as narrow as its own.
 *
 * @example
 * cidrOutside(["10.1.0.0/16"], ["10.0.0.0/8"]) // null
 * cidrOutside(["10.0.0.0/8", "192.168.0.0/24"], ["10.0.0.0/8"]) // "192.168.0.0/24"
 */
export function cidrOutside(inner: readonly string[], outer: readonly string[]): string | null {
  const parse = (cidr: string): Network | null => {
    const network = parseNetwork(cidr.trim());
    return typeof network === "string" ? null : network;
  };
  const outerNetworks = outer.map(parse).filter((n): n is Network => n !== null);
  for (const cidr of inner) {
    const network = parse(cidr);
    if (!network || !outerNetworks.some((o) => contains(o, network))) return cidr;
  }
  return null;
}

/**
 * Compiles normalised CIDRs (from `parseCidrList`) into a matcher for client addresses. An IPv4 client
 * seen as IPv4-mapped IPv6 (`::ffff:10.1.2.3`, as dual-stack sockets report it) is matched as IPv4. A
 * client address that is not an IP address (or has a zone id) never matches, nor does anything against
 * an empty list. IPv4 clients are checked against IPv4 rules only, so `::/0` means "any IPv6 client". Throws on an entry that is not a CIDR: that is a programming error, and failing loudly
 * is safer than an allow-list with a hole or an extra opening.
 *
 * @example
 * const allowed = compileAllowList(["10.0.0.0/8"]);
 * allowed("::ffff:10.1.2.3") // true
 * allowed("192.168.0.1") // false
 */
export function compileAllowList(cidrs: readonly string[]): (ip: string) => boolean {
  // Two lists, because node:net's BlockList treats an IPv4 address as its mapped IPv6 form: on one list,
  // `::/0` ("any IPv6") would let every IPv4 client in. Here IPv4 clients meet only IPv4 rules (mapped
  // rules were turned into IPv4 ones by the parser), IPv6 clients only IPv6 rules.
  const ipv4 = new BlockList();
  const ipv6 = new BlockList();
  let ipv4Count = 0;
  let ipv6Count = 0;
  for (const cidr of cidrs) {
    const network = typeof cidr === "string" ? parseNetwork(cidr.trim()) : "not a string";
    if (typeof network === "string") {
      throw new TypeError(`compileAllowList: ${describe(String(cidr))} is not a CIDR (${network}).`);
    }
    if (network.family === 4) {
      ipv4.addSubnet(network.bytes.join("."), network.prefix, "ipv4");
      ipv4Count++;
    } else {
      ipv6.addSubnet(formatIpv6(network.bytes), network.prefix, "ipv6");
      ipv6Count++;
    }
  }
  const checkIpv4 = (ip: string) => ipv4Count > 0 && ipv4.check(ip, "ipv4");
  return (ip: string): boolean => {
    if (typeof ip !== "string") return false;
    const family = isIP(ip);
    if (family === 4) return checkIpv4(ip);
    if (family !== 6 || ip.includes("%")) return false;
    const bytes = addressBytes(ip, 6);
    if (isMappedIpv4(bytes)) return checkIpv4(bytes.slice(12).join("."));
    return ipv6Count > 0 && ipv6.check(ip, "ipv6");
  };
}
