/**
 * Real Jenkins client libraries against a real `steward serve` process: python-jenkins (Debian's
 * python3-jenkins, run by /usr/bin/python3) and node-jenkins (npm `jenkins` v1).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JENKINS_VERSION } from "../src/http/jenkins-headers.js";
import {
  basicAuth,
  cleanEnv,
  removeDir,
  runCli,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

const PYTHON = "/usr/bin/python3";
const GENERATE = "me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken";

const pythonCheck = spawnSync(PYTHON, ["-c", "import jenkins"], { encoding: "utf8" });
const pythonJenkins = pythonCheck.status === 0;
if (!pythonJenkins) {
  console.warn(
    `Skipping python-jenkins tests: \`${PYTHON} -c "import jenkins"\` failed (install the Debian package python3-jenkins). ${pythonCheck.error?.message ?? pythonCheck.stderr}`,
  );
}

/** The parts of node-jenkins (CommonJS, untyped) that these tests use. */
interface NodeJenkins {
  info(): Promise<{ _class?: string; jobs: unknown[]; useCrumbs?: boolean }>;
  crumbIssuer: { get(): Promise<{ crumb: string; crumbRequestField: string; cookies?: string[] }> };
  /** papi's generic request (node-jenkins' own methods use it); runs node-jenkins' crumb step on POST. */
  _post(request: {
    path: string;
    type?: "form" | "json";
    body?: Record<string, string>;
  }): Promise<{ statusCode: number; body: unknown }>;
}
type NodeJenkinsCtor = new (options: { baseUrl: string; crumbIssuer?: boolean }) => NodeJenkins;
const Jenkins = createRequire(import.meta.url)("jenkins") as NodeJenkinsCtor;

let server: ServerProcess;
let token: string;

/** Runs a Python script with python-jenkins; it prints one JSON document. */
function python(script: string, env: Record<string, string>): unknown {
  const result = spawnSync(PYTHON, ["-c", script], {
    encoding: "utf8",
    env: cleanEnv({ JENKINS_URL: server.url, ...env }),
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`python failed (${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

function withAuth(url: string, user: string, secret: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(secret);
  return parsed.toString().replace(/\/$/, "");
}

beforeAll(async () => {
  server = await startServerProcess();
  const created = await runCli(["--json", "token", "create", "admin", "--name", "clients"], {
    dataDir: server.dataDir,
  });
  expect(created.code, created.stderr).toBe(0);
  token = (JSON.parse(created.stdout) as { value: string }).value;
});

afterAll(async () => {
  await server?.stop();
  if (server) removeDir(server.dataDir);
});

describe.skipIf(!pythonJenkins)("python-jenkins (Debian python3-jenkins)", () => {
  it("with a token: get_whoami, get_version (X-Jenkins), get_jobs", () => {
    const result = python(
      `
import json, os, jenkins
server = jenkins.Jenkins(os.environ["JENKINS_URL"], username="admin", password=os.environ["TOKEN"])
me = server.get_whoami()
print(json.dumps({"id": me["id"], "version": server.get_version(), "jobs": server.get_jobs()}))
`,
      { TOKEN: token },
    );
    expect(result).toEqual({ id: "admin", version: JENKINS_VERSION, jobs: [] });
  });

  it("a wrong token is refused: get_whoami raises with 401", () => {
    const wrong = `stw_${"A".repeat(36)}`;
    const result = python(
      `
import json, os, jenkins
server = jenkins.Jenkins(os.environ["JENKINS_URL"], username="admin", password=os.environ["TOKEN"])
try:
    server.get_whoami()
    print(json.dumps({"raised": None}))
except jenkins.JenkinsException as e:
    print(json.dumps({"raised": str(e)}))
`,
      { TOKEN: wrong },
    );
    expect((result as { raised: string | null }).raised).toMatch(/\[401\]/);
  });

  it("with a password, a POST goes through python-jenkins' crumb handling (session cookie kept)", async () => {
    const result = python(
      `
import json, os, jenkins, requests
server = jenkins.Jenkins(os.environ["JENKINS_URL"], username="admin", password=os.environ["PASSWORD"])
body = server.jenkins_open(requests.Request("POST", os.environ["JENKINS_URL"] + "/${GENERATE}", data={"newTokenName": "from python"}))
print(body)
`,
      { PASSWORD: server.adminPassword },
    );
    const answer = result as { status: string; data: { tokenName: string; tokenValue: string } };
    expect(answer.status).toBe("ok");
    expect(answer.data.tokenName).toBe("from python");
    const me = await fetch(`${server.url}/me/api/json`, {
      headers: { authorization: basicAuth("admin", answer.data.tokenValue) },
    });
    expect(me.status).toBe(200);
  });
});

describe("node-jenkins (npm jenkins v1)", () => {
  it("token in the baseUrl userinfo, crumbIssuer: true: info() returns the root object with jobs: []", async () => {
    const client = new Jenkins({ baseUrl: withAuth(server.url, "admin", token), crumbIssuer: true });
    const info = await client.info();
    expect(info.jobs).toEqual([]);
    expect(info._class).toBe("hudson.model.Hudson");
  });

  it("a wrong token in the baseUrl: info() rejects with 401", async () => {
    const client = new Jenkins({
      baseUrl: withAuth(server.url, "admin", `stw_${"B".repeat(36)}`),
      crumbIssuer: true,
    });
    await expect(client.info()).rejects.toMatchObject({ statusCode: 401 });
  });

  it("crumbIssuer.get() keeps the session cookie (node-jenkins checks _class for that)", async () => {
    const client = new Jenkins({ baseUrl: withAuth(server.url, "admin", token), crumbIssuer: true });
    const crumb = await client.crumbIssuer.get();
    expect(crumb.crumbRequestField).toBe("Jenkins-Crumb");
    expect(crumb.crumb).toMatch(/^[0-9a-f]{64}$/);
    expect(crumb.cookies?.some((c) => c.startsWith("steward_session="))).toBe(true);
  });

  it("password + crumbIssuer: true: a POST gets a crumb and the session cookie sent back, and succeeds", async () => {
    const client = new Jenkins({
      baseUrl: withAuth(server.url, "admin", server.adminPassword),
      crumbIssuer: true,
    });
    const response = await client._post({
      path: `/${GENERATE}`,
      type: "form",
      body: { newTokenName: "from node" },
    });
    const answer = response.body as { status: string; data: { tokenName: string; tokenValue: string } };
    expect(answer.status).toBe("ok");
    expect(answer.data.tokenName).toBe("from node");
    const me = await fetch(`${server.url}/me/api/json`, {
      headers: { authorization: basicAuth("admin", answer.data.tokenValue) },
    });
    expect(((await me.json()) as { id: string }).id).toBe("admin");
  });

  it("password with crumbIssuer: false: the same POST is refused for want of a crumb (403)", async () => {
    const client = new Jenkins({
      baseUrl: withAuth(server.url, "admin", server.adminPassword),
      crumbIssuer: false,
    });
    await expect(
      client._post({ path: `/${GENERATE}`, type: "form", body: { newTokenName: "no crumb" } }),
    ).rejects.toMatchObject({ statusCode: 403 });
  });
});
