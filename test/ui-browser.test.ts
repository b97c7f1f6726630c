import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";

/**
 * The web UI in a real browser (Debian's Chromium driven by playwright-core) against a real server on a
 * free port: sign-in, the token life cycle, administration, escaping, crumbs and cookies.
 */
const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(
    `Skipping the browser tests: ${CHROMIUM} is missing. Install Debian's chromium package to run them (CI does).`,
  );
}

const ADMIN_PASSWORD = "admin-password-for-browser-tests";
const XSS = "<img src=x onerror=alert(1)>";
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

describe.skipIf(!HAVE_CHROMIUM)("web UI in Chromium", { timeout: 60_000 }, () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "steward-ui-"));
    server = await startServer(
      loadConfig(
        {},
        { port: 0, dataDir, adminPassword: ADMIN_PASSWORD, passwordHashCost: 10, logLevel: "warn" },
      ),
      { print: () => {} },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    admin = await browser.newContext({ baseURL: server.url });
    await admin.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    page = await admin.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** A Jenkins-style call with a token, from outside the browser. */
  async function whoAmI(user: string, token: string): Promise<Response> {
    return fetch(`${server.url}/whoAmI/api/json`, {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}` },
    });
  }

  async function signIn(target: Page, user: string, password: string): Promise<void> {
    await target.goto("/account/tokens");
    await expect.poll(() => new URL(target.url()).pathname).toBe("/login");
    await target.getByLabel("User name").fill(user);
    await target.getByLabel("Password").fill(password);
    await target.getByRole("button", { name: "Sign in" }).click();
    await target.waitForURL("**/account/tokens");
  }

  /** Generates a token through "Add new Token" and reads its value from the result page. */
  async function generate(target: Page, name: string): Promise<string> {
    await target.goto("/account/tokens");
    await target.getByText("Add new Token").click();
    await target.getByLabel("Token name").fill(name);
    await target.getByRole("button", { name: "Generate" }).click();
    await target.getByRole("heading", { name: "Token generated" }).waitFor();
    expect(await target.getByRole("alert").first().textContent()).toContain("will not be shown again");
    return (await target.locator("#token-value").textContent())!.trim();
  }

  function row(target: Page, name: string) {
    return target.locator("tbody tr", { has: target.locator(".token-name", { hasText: name }) });
  }

  let value = "";

  it("signs in, with a session cookie that is HttpOnly and SameSite=Lax", async () => {
    await signIn(page, "admin", ADMIN_PASSWORD);
    await expect.poll(() => page.getByRole("heading", { name: "API tokens" }).isVisible()).toBe(true);
    const cookie = (await admin.cookies()).find((c) => c.name === "steward_session")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Lax");
    expect(cookie.path).toBe("/");
  });

  it("generates a token, shows it once with a working copy button, and the token works", async () => {
    value = await generate(page, "deploy");
    expect(value).toMatch(/^stw_[A-Za-z0-9]{36}$/);
    const copy = page.locator("button[data-copy]");
    expect(await copy.textContent()).toBe("Copy to clipboard");
    await copy.click(); // visible only with JavaScript: progressive enhancement
    await expect.poll(() => copy.textContent()).toBe("Copied");
    // Browser-side code is given as text: this project compiles without the DOM library.
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(value);

    const response = await whoAmI("admin", value);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { name: string }).name).toBe("admin");

    // Back on the list (a GET), and after a reload, the value is nowhere on the page.
    await page.getByRole("link", { name: "Done" }).click();
    await page.reload();
    expect(await page.content()).not.toContain(value);
    expect(await row(page, "deploy").count()).toBe(1);
  });

  it("shows the use count going up after a reload", async () => {
    const uses = () => row(page, "deploy").locator('td[data-label="Uses"]').textContent();
    const before = Number(await uses());
    for (let i = 0; i < 3; i++) expect((await whoAmI("admin", value)).status).toBe(200);
    await page.reload();
    expect(Number(await uses())).toBe(before + 3);
    expect(await row(page, "deploy").locator('td[data-label="Last used"]').textContent()).not.toBe("never");
    await page.screenshot({ path: join(ARTIFACTS, "token-page.png"), fullPage: true });
  });

  it("renames the token", async () => {
    await page.getByLabel("New name for deploy").fill("deploy (renamed)");
    await row(page, "deploy").getByRole("button", { name: "Rename" }).click();
    await page.getByText("The token was renamed.").waitFor();
    expect(await row(page, "deploy (renamed)").count()).toBe(1);
  });

  it("revokes it after a confirmation page, and the token stops working (401)", async () => {
    await row(page, "deploy (renamed)")
      .getByRole("link", { name: /Revoke/ })
      .click();
    await page.getByRole("heading", { name: "Revoke token" }).waitFor();
    expect((await whoAmI("admin", value)).status).toBe(200); // nothing happened yet
    await page.getByRole("button", { name: "Revoke token" }).click();
    await page.getByText("The token was revoked.").waitFor();
    expect(await row(page, "deploy (renamed)").count()).toBe(0);
    expect((await whoAmI("admin", value)).status).toBe(401);
  });

  it("lets an admin create a user, who gets a token, which the admin revokes in /manage", async () => {
    await page.getByRole("link", { name: "Manage" }).click();
    await page.getByRole("link", { name: "Users and service accounts" }).first().click();
    await page.getByRole("link", { name: "Create user" }).click();
    await page.getByLabel("User id").fill("bob");
    await page.getByLabel("Full name").fill("Bob Builder");
    await page.getByLabel("Email (optional)").fill("bob@example.com");
    await page.getByLabel("Password", { exact: true }).fill("bob-password-1");
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByText("The user was created.").waitFor();

    const bobContext = await browser.newContext({ baseURL: server.url });
    const bobPage = await bobContext.newPage();
    await signIn(bobPage, "bob", "bob-password-1");
    expect(await bobPage.getByRole("link", { name: "Manage" }).count()).toBe(0);
    const bobToken = await generate(bobPage, "bob's laptop");
    expect((await whoAmI("bob", bobToken)).status).toBe(200);
    const forbidden = await bobPage.goto("/manage/users");
    expect(forbidden!.status()).toBe(403);
    await bobContext.close();

    await page.goto("/manage/users?q=bob");
    await page.getByRole("link", { name: "bob", exact: true }).click();
    await row(page, "bob's laptop")
      .getByRole("link", { name: /Revoke/ })
      .click();
    await page.getByRole("button", { name: "Revoke token" }).click();
    await page.getByText("The token was revoked.").waitFor();
    expect((await whoAmI("bob", bobToken)).status).toBe(401);
  });

  it(`shows a token named ${XSS} as text, running nothing`, async () => {
    await generate(page, XSS);
    expect(await page.locator("#new-token-label strong").textContent()).toBe(XSS);
    await page.goto("/account/tokens");
    await expect.poll(() => page.getByText(XSS, { exact: true }).first().isVisible()).toBe(true);
    expect(await page.locator("main img").count()).toBe(0);
    await page.goto("/manage/users/admin");
    expect(await page.getByText(XSS, { exact: true }).first().isVisible()).toBe(true);
    await page.goto("/manage/audit?action=token.created");
    expect(await page.locator("main img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("refuses a form posted without its crumb (403) with a page that explains it", async () => {
    await page.goto("/account/tokens");
    const before = await row(page, XSS).count();
    const answer = page.waitForResponse(
      (r) => r.request().method() === "POST" && r.url().includes("/rename"),
    );
    // Remove the hidden crumb field from a real form of the page and submit it as a browser would.
    await page.evaluate(`(() => {
      const form = document.querySelector("form.rename");
      form.querySelector("input[name='Jenkins-Crumb']").remove();
      form.querySelector("input[name='newName']").value = "hijacked";
      form.submit();
    })()`);
    expect((await answer).status()).toBe(403);
    await page.getByRole("heading", { name: "This form has expired" }).waitFor();
    expect(await page.textContent("main")).toContain("No valid crumb was included in the request");
    await page.goto("/account/tokens");
    expect(await row(page, "hijacked").count()).toBe(0);
    expect(await row(page, XSS).count()).toBe(before);
  });

  let webhookPath = "";
  let rotatedPath = "";

  it("rotates a token with a grace period: the new value once, both values work meanwhile", async () => {
    const old = await generate(page, "rotate me");
    await page.goto("/account/tokens");
    await row(page, "rotate me")
      .getByRole("link", { name: /Rotate/ })
      .click();
    await page.getByRole("heading", { name: "Rotate token" }).waitFor();
    rotatedPath = new URL(page.url()).pathname;
    await page.getByLabel("1 hour").check();
    await page.screenshot({ path: join(ARTIFACTS, "token-rotate.png"), fullPage: true });
    await page.getByRole("button", { name: "Rotate token" }).click();
    await page.getByRole("heading", { name: "Token rotated" }).waitFor();
    expect(await page.getByRole("alert").first().textContent()).toContain("will not be shown again");
    expect(await page.textContent("main")).toContain("The old value keeps working until");
    const fresh = (await page.locator("#token-value").textContent())!.trim();
    expect(fresh).toMatch(/^stw_[A-Za-z0-9]{36}$/);
    expect(fresh).not.toBe(old);
    expect((await whoAmI("admin", old)).status).toBe(200);
    expect((await whoAmI("admin", fresh)).status).toBe(200);

    await page.getByRole("link", { name: "Done" }).click();
    expect(await page.content()).not.toContain(fresh);
    // The token was just used: "From where?" lists this machine's address.
    await row(page, "rotate me")
      .getByRole("link", { name: /From where/ })
      .click();
    await page.getByRole("heading", { name: /was used from/ }).waitFor();
    expect(await page.locator('td[data-label="Address"]').first().textContent()).toMatch(/127\.0\.0\.1|::1/);
    await page.screenshot({ path: join(ARTIFACTS, "token-addresses.png"), fullPage: true });
  });

  it("adds a webhook, shows its secret once, and queues a test delivery", async () => {
    await page.goto("/manage/webhooks");
    await page.getByText("Add webhook").first().click();
    // Port 9 (discard) is closed here: the delivery fails and is retried, which the log shows.
    await page.getByLabel("Payload URL").fill("http://127.0.0.1:9/steward");
    await page.getByLabel(/token\.revoked/).check();
    await page.getByRole("button", { name: "Add webhook", exact: true }).last().click();
    await page.getByRole("heading", { name: "Webhook added" }).waitFor();
    const secret = (await page.locator("#token-value").textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole("link", { name: "Send a test delivery…" }).click();
    webhookPath = new URL(page.url()).pathname;
    expect(await page.content()).not.toContain(secret);
    await page.getByRole("button", { name: "Send test delivery" }).click();
    await page.getByText("A test delivery was queued.").waitFor();
    expect(await page.locator('td[data-label="Event"]').first().textContent()).toContain("webhook.tested");
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('td[data-label="Attempts"]').first().textContent();
        },
        { timeout: 10_000 },
      )
      .not.toBe("0");
    await page.screenshot({ path: join(ARTIFACTS, "webhook-deliveries.png"), fullPage: true });
  });

  it("fits the new pages on a phone-sized screen", async () => {
    const phone = await browser.newContext({ baseURL: server.url, viewport: { width: 390, height: 844 } });
    const phonePage = await phone.newPage();
    await signIn(phonePage, "admin", ADMIN_PASSWORD);
    const urls = ["/manage/webhooks", webhookPath, "/manage/settings"];
    // The rotate form of a token still live, and the token list with its banner and links.
    await phonePage.goto("/account/tokens");
    const live = await phonePage.locator('a[href$="/rotate"]').first().getAttribute("href");
    if (live) urls.push(live, live.replace(/\/rotate$/, "/addresses"));
    expect(rotatedPath).not.toBe("");
    for (const url of urls) {
      await phonePage.goto(url);
      const overflow = await phonePage.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      expect(overflow, url).toBeLessThanOrEqual(0);
    }
    await phonePage.goto(webhookPath);
    await phonePage.screenshot({ path: join(ARTIFACTS, "webhook-deliveries-phone.png"), fullPage: true });
    await phone.close();
  });

  it("is usable on a phone-sized screen", async () => {
    const phone = await browser.newContext({ baseURL: server.url, viewport: { width: 390, height: 844 } });
    const phonePage = await phone.newPage();
    await signIn(phonePage, "admin", ADMIN_PASSWORD);
    // No horizontal scrolling: the token table turns into cards.
    const overflow = await phonePage.evaluate(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await phonePage.screenshot({ path: join(ARTIFACTS, "token-page-phone.png"), fullPage: true });
    // A new token's value wraps inside one box on a phone: no line drawn over another (the "_" stays
    // visible), nothing past the screen's edge.
    const value = await generate(phonePage, "phone");
    const box = await phonePage.locator("#token-value").evaluate((element) => {
      const rects = element.getClientRects();
      return {
        boxes: rects.length,
        right: rects[0]!.right,
        width: (globalThis as unknown as { innerWidth: number }).innerWidth,
        text: element.textContent,
      };
    });
    expect(box.boxes).toBe(1);
    expect(box.right).toBeLessThanOrEqual(box.width);
    expect(box.text).toBe(value);
    await phonePage.screenshot({ path: join(ARTIFACTS, "new-token-phone.png"), fullPage: true });
    await phone.close();
  });
});
