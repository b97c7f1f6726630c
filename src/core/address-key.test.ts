import { describe, expect, it } from "vitest";
import { addressKey, canonicalAddress } from "./address-key.js";

describe("canonicalAddress", () => {
  it("writes IPv4, mapped IPv4 and IPv6 one way each", () => {
    expect(canonicalAddress("192.0.2.7")).toBe("192.0.2.7");
    expect(canonicalAddress("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(canonicalAddress("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
    expect(canonicalAddress("::1")).toBe("::1");
  });

  it("leaves what is not an address alone", () => {
    expect(canonicalAddress("unknown")).toBe("unknown");
    expect(canonicalAddress("")).toBe("");
    expect(canonicalAddress("fe80::1%eth0")).toBe("fe80::1%eth0");
  });
});

describe("addressKey", () => {
  it("is the address itself at address granularity", () => {
    expect(addressKey("192.0.2.7", "address")).toBe("192.0.2.7");
    expect(addressKey("::ffff:192.0.2.7", "address")).toBe("192.0.2.7");
  });

  it("is the /24 or /64 at subnet granularity", () => {
    expect(addressKey("192.0.2.7", "subnet")).toBe("192.0.2.0/24");
    expect(addressKey("192.0.2.200", "subnet")).toBe("192.0.2.0/24");
    expect(addressKey("192.0.3.1", "subnet")).toBe("192.0.3.0/24");
    expect(addressKey("::ffff:192.0.2.9", "subnet")).toBe("192.0.2.0/24");
    expect(addressKey("2001:db8:1:2:aaaa::1", "subnet")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:bbbb::2", "subnet")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:3::1", "subnet")).toBe("2001:db8:1:3::/64");
    expect(addressKey("unknown", "subnet")).toBe("unknown");
  });
});
