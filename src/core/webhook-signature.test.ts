import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhookSignature } from "./webhook-signature.js";

const SECRET = "whsec_test-secret";
const BODY = '{"event":"token.revoked","data":{"id":1}}';
const T = 1_767_225_600;

describe("webhook signatures", () => {
  it("signs t + '.' + body with HMAC-SHA256, as Node computes it", () => {
    const reference = createHmac("sha256", SECRET).update(`${T}.${BODY}`).digest("hex");
    expect(signWebhook(SECRET, BODY, T)).toBe(`t=${T},v1=${reference}`);
    expect(signWebhook(SECRET, BODY, T + 0.9)).toBe(`t=${T},v1=${reference}`);
  });

  it("matches a published-style vector computed independently", () => {
    // HMAC-SHA256(key = "secret", message = "1.{}")
    const expected = createHmac("sha256", "secret").update("1.{}").digest("hex");
    expect(signWebhook("secret", "{}", 1)).toBe(`t=1,v1=${expected}`);
  });

  it("verifies its own signature within the tolerance", () => {
    const header = signWebhook(SECRET, BODY, T);
    expect(verifyWebhookSignature(SECRET, header, BODY, T)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, BODY, T + 299)).toBe(true);
    expect(verifyWebhookSignature(SECRET, ` ${header.replace(",", " , ")}`, BODY, T)).toBe(true);
  });

  it("refuses another body, secret, time or a stale signature", () => {
    const header = signWebhook(SECRET, BODY, T);
    expect(verifyWebhookSignature(SECRET, header, `${BODY} `, T)).toBe(false);
    expect(verifyWebhookSignature("whsec_other", header, BODY, T)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header.replace(`t=${T}`, `t=${T + 1}`), BODY, T)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, T + 301)).toBe(false);
  });

  it("refuses malformed headers without throwing", () => {
    for (const header of [
      undefined,
      "",
      "t=1",
      "v1=abc",
      "garbage",
      `t=x,v1=${"0".repeat(64)}`,
      "x".repeat(2000),
    ]) {
      expect(verifyWebhookSignature(SECRET, header, BODY, T)).toBe(false);
    }
  });

  it("accepts any one of several v1 signatures (secret rotation on the sender)", () => {
    const good = signWebhook(SECRET, BODY, T).split(",")[1]!;
    expect(verifyWebhookSignature(SECRET, `t=${T},v1=${"0".repeat(64)},${good}`, BODY, T)).toBe(true);
  });
});
