/**
 * The curl recipes people copy from the Jenkins docs and StackOverflow, run verbatim with the real
 * `curl` and `jq` against a real `steward serve` process. Each script defines its own variables; only
 * JENKINS_URL comes from the environment (never $USER from the machine).
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_PASSWORD,
  makeTempDir,
  removeDir,
  runCli,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

/** Single-quotes a value for bash. */
function shq(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

let server: ServerProcess;
let work: string;
let scripts = 0;

interface ScriptResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

/**
 * The environment of the scripts: the test's own (bash starts slowly in some sandboxes without it), minus
 * anything a recipe could pick up by accident — proxies, curl config, USER/LOGNAME, JENKINS_* — plus
 * JENKINS_URL.
 */
function scriptEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(https?|all|no)_proxy$|^CURL_HOME$|^USER$|^LOGNAME$|^JENKINS_|^STEWARD_/i.test(name)) continue;
    env[name] = value;
  }
  env.JENKINS_URL = server.url;
  return env;
}

/**
 * Runs a bash script. The prelude gives it an empty HOME (no ~/.curlrc), sets the credentials and a fresh
 * cookie-jar path, as a person would before pasting a recipe.
 */
function bash(script: string, vars: Record<string, string> = {}): ScriptResult {
  const dir = `${work}/run-${++scripts}`;
  const prelude = [
    "set -o pipefail",
    `mkdir -p ${shq(dir)}`,
    `HOME=${shq(dir)}`,
    "USER=admin",
    "U=admin",
    `P=${shq(ADMIN_PASSWORD)}`,
    "PASSWORD=$P",
    `JAR=${shq(`${dir}/cookies.txt`)}`,
    ...Object.entries(vars).map(([name, value]) => `${name}=${shq(value)}`),
  ].join("\n");
  const result = spawnSync("bash", ["-c", `${prelude}\n${script}`], {
    encoding: "utf8",
    env: scriptEnv(),
    timeout: 20_000,
  });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** Like `bash`, but the script must succeed; returns its trimmed stdout. */
function bashOk(script: string, vars: Record<string, string> = {}): string {
  const result = bash(script, vars);
  if (result.status !== 0) {
    throw new Error(
      `script failed (${result.status}):\n${script}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return result.stdout.trim();
}

/** The Jenkins docs recipe: XML crumb with the `:` xpath, then generateNewToken with password + crumb. */
function mintToken(name: string): { value: string; uuid: string } {
  const out = bashOk(
    `CRUMB=$(curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\\":\\",//crumb)")
curl -s --cookie "$JAR" -u "$U:$P" -H "$CRUMB" -X POST "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=$NAME" | jq -r '.data.tokenValue, .data.tokenUuid'`,
    { NAME: name },
  );
  const [value, uuid] = out.split("\n");
  if (!value || !uuid || value === "null") throw new Error(`no token in ${JSON.stringify(out)}`);
  return { value, uuid };
}

/** HTTP status of `GET /api/json` with admin and this token. */
function statusWith(token: string): string {
  return bashOk(`curl -s -o /dev/null -w '%{http_code}' -u "admin:$TOKEN" "$JENKINS_URL/api/json"`, {
    TOKEN: token,
  });
}

/** A token's live record from `steward --json token list admin` (the server keeps running). */
async function listedTokens(): Promise<Array<{ id: string; name: string }>> {
  const result = await runCli(["--json", "token", "list", "admin"], { dataDir: server.dataDir });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Array<{ id: string; name: string }>;
}

beforeAll(async () => {
  work = makeTempDir("steward-recipes-");
  server = await startServerProcess();
});

afterAll(async () => {
  await server?.stop();
  if (server) removeDir(server.dataDir);
  if (work) removeDir(work);
});

describe("Jenkins curl recipes, verbatim", () => {
  it("XML crumb (concat … ':' …) + generateNewToken?newTokenName=ci | jq -r '.data.tokenValue'", () => {
    const crumb = bashOk(
      `curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\\":\\",//crumb)"`,
    );
    expect(crumb).toMatch(/^Jenkins-Crumb:[0-9a-f]{64}$/);

    const token = bashOk(
      `CRUMB=$(curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\\":\\",//crumb)")
TOKEN=$(curl -s --cookie "$JAR" -u "$U:$P" -H "$CRUMB" -X POST "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=ci" | jq -r '.data.tokenValue')
echo "$TOKEN"`,
    );
    expect(token).toMatch(/^stw_[A-Za-z0-9]{36}$/);

    // The token works on its own (no password, no cookie, no crumb).
    const jobs = bashOk(`curl -s -u admin:$TOKEN "$JENKINS_URL/api/json" | jq -c '.jobs'`, { TOKEN: token });
    expect(jobs).toBe("[]");
    const id = bashOk(`curl -s -u admin:$TOKEN "$JENKINS_URL/me/api/json" | jq -r '.id'`, { TOKEN: token });
    expect(id).toBe("admin");
    const who = bashOk(`curl -s -u admin:$TOKEN "$JENKINS_URL/whoAmI/api/json" | jq -r '.name, .anonymous'`, {
      TOKEN: token,
    });
    expect(who).toBe("admin\nfalse");
  });

  it("the full generateNewToken answer has Jenkins' shape and the requested name", () => {
    const body = bashOk(
      `CRUMB=$(curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\\":\\",//crumb)")
curl -s --cookie "$JAR" -u "$U:$P" -H "$CRUMB" -X POST "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=ci"`,
    );
    const json = JSON.parse(body) as { status: string; data: Record<string, unknown> };
    expect(json.status).toBe("ok");
    expect(json.data.tokenName).toBe("ci");
    expect(json.data.tokenUuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.data.expirationDate).toBe("never");
    expect(json.data.aboutToExpire).toBe(false);
  });

  it("JSON crumb | jq -r '.crumb', then -H \"Jenkins-Crumb: $CRUMB\" --data 'newTokenName=foo'", () => {
    const out = bashOk(
      `CRUMB=$(curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/json" | jq -r '.crumb')
curl -s --cookie "$JAR" -u "$U:$P" -H "Jenkins-Crumb: $CRUMB" --data 'newTokenName=foo' "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken" | jq -r '.status, .data.tokenName, .data.tokenValue'`,
    );
    const [status, name, value] = out.split("\n");
    expect(status).toBe("ok");
    expect(name).toBe("foo");
    expect(statusWith(value!)).toBe("200");
  });

  it("the StackOverflow form: JENKINS_USER/JENKINS_USER_PASS, single-quoted URL tail, /tmp-style jar", () => {
    const token = bashOk(
      `JENKINS_USER=admin
JENKINS_USER_PASS=$P
JENKINS_CRUMB=$(curl -u "$JENKINS_USER:$JENKINS_USER_PASS" -s --cookie-jar "$JAR" $JENKINS_URL'/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,":",//crumb)')
ACCESS_TOKEN=$(curl -u "$JENKINS_USER:$JENKINS_USER_PASS" -H "$JENKINS_CRUMB" -s \\
                    --cookie "$JAR" $JENKINS_URL'/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken' \\
                    --data 'newTokenName=GlobalToken' | jq -r '.data.tokenValue')
echo $ACCESS_TOKEN`,
    );
    expect(token).toMatch(/^stw_/);
    expect(statusWith(token)).toBe("200");
  });

  it("via /user/admin/descriptorByName/… with the concat(…,'=',…) crumb sent as a form field", () => {
    const crumb = bashOk(
      `curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,'=',//crumb)"`,
    );
    expect(crumb).toMatch(/^Jenkins-Crumb=[0-9a-f]{64}$/);

    const out = bashOk(
      `CRUMB=$(curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,'=',//crumb)")
curl -s --cookie "$JAR" -u "$U:$P" -X POST -d "$CRUMB" -d 'newTokenName=viaUser' "$JENKINS_URL/user/admin/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken" | jq -r '.data.tokenName, .data.tokenValue'`,
    );
    const [name, value] = out.split("\n");
    expect(name).toBe("viaUser");
    expect(statusWith(value!)).toBe("200");
  });

  it("the /*/crumb/text() and /*/crumbRequestField/text() xpaths give plain values", () => {
    const out = bashOk(
      `FIELD=$(curl -s --cookie-jar "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=/*/crumbRequestField/text()")
CRUMB=$(curl -s --cookie "$JAR" -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=/*/crumb/text()")
curl -s --cookie "$JAR" -u "$U:$P" -H "$FIELD: $CRUMB" -X POST "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken" --data 'newTokenName=xpathText' | jq -r '.status, .data.tokenName'`,
    );
    expect(out).toBe("ok\nxpathText");
  });

  it("with a token, POSTs need no crumb: generate, rename, revoke; the revoked token then gets 401", async () => {
    const { value: admin, uuid: adminUuid } = mintToken("ci-admin");
    // A CI job creating a token with a token (no cookie jar, no crumb).
    const out = bashOk(
      `curl -s -X POST -u admin:$TOKEN "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken" --data 'newTokenName=short-lived' | jq -r '.data.tokenValue, .data.tokenUuid'`,
      { TOKEN: admin },
    );
    const [victim, victimUuid] = out.split("\n") as [string, string];
    expect(statusWith(victim)).toBe("200");

    const renamed = bashOk(
      `curl -s -X POST -u admin:$TOKEN "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/rename" --data "tokenUuid=$UUID" --data "newName=renamed by curl"`,
      { TOKEN: admin, UUID: victimUuid },
    );
    expect(JSON.parse(renamed)).toEqual({ status: "ok" });
    expect((await listedTokens()).find((t) => t.id === victimUuid)?.name).toBe("renamed by curl");

    const emptyName = bashOk(
      `curl -s -X POST -u admin:$TOKEN "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/rename" --data "tokenUuid=$UUID" --data "newName="`,
      { TOKEN: admin, UUID: victimUuid },
    );
    expect(JSON.parse(emptyName)).toEqual({ status: "error", message: "The name cannot be empty" });

    const revoke = bashOk(
      `curl -s -o /dev/null -w '%{http_code}' -X POST -u admin:$TOKEN "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/revoke" --data tokenUuid=$UUID`,
      { TOKEN: admin, UUID: victimUuid },
    );
    expect(revoke).toBe("200");
    expect(statusWith(victim)).toBe("401");
    expect(statusWith(admin)).toBe("200");
    const listed = await listedTokens();
    expect(listed.some((t) => t.id === victimUuid)).toBe(false);
    expect(listed.some((t) => t.id === adminUuid)).toBe(true);
  });

  it("a password POST without a crumb → 403 'No valid crumb was included in the request', nothing created", async () => {
    const out = bash(
      `curl -s -w '\\n%{http_code}' -u "$U:$P" -X POST "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=no-crumb"`,
    );
    const lines = out.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe("403");
    expect(out.stdout).toContain("No valid crumb was included in the request");
    expect((await listedTokens()).some((t) => t.name === "no-crumb")).toBe(false);
  });

  it("a crumb fetched without keeping the cookie (no --cookie-jar) is refused with 403", () => {
    const out = bashOk(
      `CRUMB=$(curl -s -u "$U:$P" "$JENKINS_URL/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\\":\\",//crumb)")
curl -s -o /dev/null -w '%{http_code}' -u "$U:$P" -H "$CRUMB" -X POST "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=lost-cookie"`,
    );
    expect(out).toBe("403");
  });

  it("a wrong password → 401 with WWW-Authenticate: Basic", () => {
    const headers = bash(`curl -s -o /dev/null -D - -u admin:not-the-password "$JENKINS_URL/api/json"`);
    expect(headers.stdout).toMatch(/^HTTP\/1\.1 401/);
    expect(headers.stdout).toMatch(/^www-authenticate: Basic realm="[^"]+"\r?$/im);
  });

  it("GET on generateNewToken → 405 and creates nothing", async () => {
    const { value } = mintToken("for-405");
    const code = bashOk(
      `curl -s -o /dev/null -w '%{http_code}' -u admin:$TOKEN "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=by-get"`,
      { TOKEN: value },
    );
    expect(code).toBe("405");
    expect((await listedTokens()).some((t) => t.name === "by-get")).toBe(false);
  });

  // Last: revokeAllExcept removes every other admin token, including those of earlier tests.
  it("revokeAllExcept keeps only the named token", () => {
    const first = mintToken("keep-a");
    const kept = mintToken("keep-b");
    const third = mintToken("keep-c");
    const code = bashOk(
      `curl -s -o /dev/null -w '%{http_code}' -X POST -u admin:$TOKEN "$JENKINS_URL/me/descriptorByName/jenkins.security.ApiTokenProperty/revokeAllExcept" --data "tokenUuid=$UUID"`,
      { TOKEN: first.value, UUID: kept.uuid },
    );
    expect(code).toBe("200");
    expect(statusWith(kept.value)).toBe("200");
    expect(statusWith(first.value)).toBe("401");
    expect(statusWith(third.value)).toBe("401");
  });
});
