import { SocketAddress } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrOutside, compileAllowList, MAX_CIDR_ENTRIES, parseCidrList } from "./cidr.js";

function cidrsOf(input: string[]): string[] {
  const result = parseCidrList(input);
  if (!result.ok) throw new Error(result.error);
  return result.cidrs;
}

function errorOf(input: string[]): string {
  const result = parseCidrList(input);
  if (result.ok) throw new Error(`expected an error for ${JSON.stringify(input)}`);
  return result.error;
}

/** Reference matcher: compare the first `prefix` bits as a BigInt, independent of node:net. */
function ipv4ToBigInt(ip: string): bigint {
  return ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function inIpv4Network(ip: string, network: string, prefix: number): boolean {
  const shift = BigInt(32 - prefix);
  return ipv4ToBigInt(ip) >> shift === ipv4ToBigInt(network) >> shift;
}

describe("parseCidrList", () => {
  it("normalises bare addresses to /32 and /128", () => {
    expect(cidrsOf(["10.1.2.3", "2001:db8::1"])).toEqual(["10.1.2.3/32", "2001:db8::1/128"]);
  });

  it("normalises IPv6 to RFC 5952 text", () => {
    expect(
      cidrsOf([
        "2001:DB8:0:0:0:0:0:1/128",
        "2001:0db8:0000:0000:0001:0000:0000:0001",
        "1:0:1:1:1:1:1:1",
        "0:0:0:0:0:0:0:0/0",
        "::1",
        "fe80:0:0:0:1::/64",
      ]),
    ).toEqual([
      "2001:db8::1/128",
      "2001:db8::1:0:0:1/128",
      "1:0:1:1:1:1:1:1/128",
      "::/0",
      "::1/128",
      "fe80::/64",
    ]);
  });

  it("clears host bits below the prefix", () => {
    expect(cidrsOf(["10.1.2.3/8", "192.168.77.200/20", "2001:db8:abcd::1/32", "1.2.3.4/0"])).toEqual([
      "10.0.0.0/8",
      "192.168.64.0/20",
      "2001:db8::/32",
      "0.0.0.0/0",
    ]);
  });

  it("turns IPv4-mapped IPv6 networks into IPv4 ones", () => {
    expect(cidrsOf(["::ffff:10.1.2.3", "::FFFF:10.0.0.0/104", "::ffff:a01:203/128"])).toEqual([
      "10.1.2.3/32",
      "10.0.0.0/8",
    ]);
    // Wider than the mapped range: stays IPv6.
    expect(cidrsOf(["::ffff:0:0/95"])).toEqual(["::fffe:0:0/95"]);
  });

  it("trims entries and dedupes after normalisation, keeping the first", () => {
    expect(cidrsOf([" 10.0.0.0/8 ", "10.9.9.9/8", "10.0.0.0/8", "::1", "0::1/128"])).toEqual([
      "10.0.0.0/8",
      "::1/128",
    ]);
    expect(cidrsOf([])).toEqual([]);
  });

  it.each([
    ["garbage", "not an IPv4 or IPv6 address"],
    ["10.0.0.0/33", "from 0 to 32"],
    ["::/129", "from 0 to 128"],
    ["10.0.0.0/", "from 0 to 32"],
    ["10.0.0.0/-1", "from 0 to 32"],
    ["10.0.0.0/08", "from 0 to 32"],
    ["10.0.0.0/8/8", "from 0 to 32"],
    ["10.0.0.0/ 8", "from 0 to 32"],
    ["010.0.0.1", "not an IPv4 or IPv6 address"],
    ["1.2.3", "not an IPv4 or IPv6 address"],
    ["256.0.0.0/8", "not an IPv4 or IPv6 address"],
    ["fe80::1%eth0/64", "zone ids"],
    ["1:2:3:4:5:6:7:8:9", "not an IPv4 or IPv6 address"],
  ])("rejects %j naming the entry", (entry, reason) => {
    const error = errorOf(["10.0.0.0/8", entry]);
    expect(error).toContain("Entry 2");
    expect(error).toContain(JSON.stringify(entry.trim()));
    expect(error).toContain(reason);
  });

  it("rejects empty entries, non-strings and overlong lists", () => {
    expect(errorOf(["  "])).toBe("Entry 1 is empty.");
    expect(errorOf([42 as unknown as string])).toBe("Entry 1 is not a string.");
    expect(errorOf("10.0.0.0/8" as unknown as string[])).toContain("must be a list");
    const many = Array.from({ length: MAX_CIDR_ENTRIES + 1 }, (_, i) => `10.0.${i}.0/24`);
    expect(errorOf(many)).toContain(`at most ${MAX_CIDR_ENTRIES}`);
    expect(cidrsOf(many.slice(0, MAX_CIDR_ENTRIES))).toHaveLength(MAX_CIDR_ENTRIES);
  });

  it("shortens a very long bad entry in the message", () => {
    const error = errorOf(["x".repeat(5000)]);
    expect(error.length).toBeLessThan(200);
  });

  it("never throws, whatever it is given", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), (input) => {
        const result = parseCidrList(input);
        expect(typeof result.ok).toBe("boolean");
      }),
    );
    fc.assert(
      fc.property(fc.anything(), (input) => {
        parseCidrList(input as string[]);
      }),
    );
  });

  it("formats IPv6 as Node's own inet_ntop does (reference)", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const [cidr] = cidrsOf([ip]);
        const address = cidr!.slice(0, -"/128".length);
        const reference = new SocketAddress({ address: ip, family: "ipv6" }).address;
        if (cidr!.endsWith("/32")) {
          // IPv4-mapped: normalised to IPv4, which Node prints as ::ffff:a.b.c.d.
          expect(reference).toBe(`::ffff:${cidr!.slice(0, -3)}`);
        } else if (/^::\d+\.\d+\.\d+\.\d+$/.test(reference)) {
          // Node (like BIND) prints the deprecated IPv4-compatible form; RFC 5952 keeps hex groups.
          expect(new SocketAddress({ address, family: "ipv6" }).address).toBe(reference);
        } else {
          expect(address).toBe(reference);
        }
      }),
    );
  });

  it("is idempotent", () => {
    const cidr = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
      fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
    );
    fc.assert(
      fc.property(fc.array(cidr, { maxLength: 10 }), (input) => {
        const once = cidrsOf(input);
        expect(cidrsOf(once)).toEqual(once);
      }),
    );
  });
});

describe("compileAllowList", () => {
  it("matches IPv4, IPv6 and IPv4-mapped clients", () => {
    const allowed = compileAllowList(cidrsOf(["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]));
    expect(allowed("10.1.2.3")).toBe(true);
    expect(allowed("11.0.0.1")).toBe(false);
    expect(allowed("192.168.1.7")).toBe(true);
    expect(allowed("192.168.1.8")).toBe(false);
    expect(allowed("2001:db8:1::5")).toBe(true);
    expect(allowed("2001:DB9::5")).toBe(false);
    expect(allowed("::ffff:10.1.2.3")).toBe(true);
    expect(allowed("::FFFF:10.1.2.3")).toBe(true);
    expect(allowed("::ffff:a01:203")).toBe(true);
    expect(allowed("::ffff:11.1.2.3")).toBe(false);
  });

  it("does not treat ::/0 as matching IPv4 clients, nor 0.0.0.0/0 IPv6 ones", () => {
    const v6 = compileAllowList(cidrsOf(["::/0"]));
    expect(v6("2001:db8::1")).toBe(true);
    expect(v6("::ffff:10.1.2.3")).toBe(false);
    expect(v6("10.1.2.3")).toBe(false);
    const v4 = compileAllowList(cidrsOf(["0.0.0.0/0"]));
    expect(v4("10.1.2.3")).toBe(true);
    expect(v4("::ffff:10.1.2.3")).toBe(true);
    expect(v4("2001:db8::1")).toBe(false);
  });

  it("refuses invalid client addresses and anything on an empty list", () => {
    const allowed = compileAllowList(["0.0.0.0/0", "::/0"]);
    for (const ip of ["", "localhost", "10.0.0", "10.0.0.1 ", "fe80::1%eth0", "::ffff:10.0.0.1/32"]) {
      expect(allowed(ip)).toBe(false);
    }
    expect(allowed(undefined as unknown as string)).toBe(false);
    expect(compileAllowList([])("10.0.0.1")).toBe(false);
  });

  it("throws on an entry that is not a CIDR (a programming error)", () => {
    expect(() => compileAllowList(["10.0.0.0/8", "nope"])).toThrow(/"nope" is not a CIDR/);
  });

  it("never throws on arbitrary client strings", () => {
    const allowed = compileAllowList(cidrsOf(["10.0.0.0/8", "2001:db8::/32", "::ffff:0:0/95"]));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.ipV4Extended(), fc.ipV6(), fc.constant("::ffff:")), (ip) => {
        expect(typeof allowed(ip)).toBe("boolean");
      }),
    );
  });

  it("an address always matches its own /32 or /128", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        expect(compileAllowList(cidrsOf([ip]))(ip)).toBe(true);
      }),
    );
  });

  it("an IPv4 client matches the same in plain and mapped form", () => {
    const hexMapped = (ip: string) => {
      const [a = 0, b = 0, c = 0, d = 0] = ip.split(".").map(Number);
      return `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    };
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (client, network, prefix) => {
        const allowed = compileAllowList(cidrsOf([`${network}/${prefix}`]));
        const expected = inIpv4Network(client, network, prefix);
        expect(allowed(client)).toBe(expected);
        expect(allowed(`::ffff:${client}`)).toBe(expected);
        expect(allowed(hexMapped(client))).toBe(expected);
      }),
    );
  });
});

describe("cidrOutside", () => {
  it("finds the first network not inside the outer list, by family and prefix", () => {
    expect(cidrOutside(["10.1.0.0/16", "10.2.3.4/32"], ["10.0.0.0/8"])).toBeNull();
    expect(cidrOutside(["10.0.0.0/8", "192.168.0.0/24"], ["10.0.0.0/8"])).toBe("192.168.0.0/24");
    expect(cidrOutside(["10.0.0.0/7"], ["10.0.0.0/8"])).toBe("10.0.0.0/7");
    expect(cidrOutside(["2001:db8:1::/48"], ["2001:db8::/32"])).toBeNull();
    expect(cidrOutside(["2001:db8::/32"], ["10.0.0.0/8"])).toBe("2001:db8::/32");
    expect(cidrOutside(["0.0.0.0/0"], ["10.0.0.0/8", "0.0.0.0/0"])).toBeNull();
    expect(cidrOutside([], ["10.0.0.0/8"])).toBeNull();
  });
});
