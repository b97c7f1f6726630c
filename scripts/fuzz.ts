/**
 * The long fuzz run (`npm run fuzz`), outside the default test run: a real Steward process over TCP.
 *
 * 1. Structured fuzz: FUZZ_RUNS generated requests (the generator of test/hardening-fuzz.test.ts:
 *    random methods, real routes and mutations, broken headers, hostile bodies), sent as raw bytes.
 * 2. Raw fuzz: FUZZ_RAW_RUNS connections carrying malformed HTTP — garbage request lines, bad versions,
 *    broken chunking, request smuggling shapes, oversize headers and bodies, NUL bytes, early hang-ups.
 * Then the server must still be running and answer a valid token request correctly.
 *
 * Settings (environment): FUZZ_RUNS (default 20000), FUZZ_RAW_RUNS (default FUZZ_RUNS / 10),
 * FUZZ_SEED (default: random, printed), FUZZ_CONCURRENCY (default 8), FUZZ_DATABASE_URL (fuzz a
 * server on PostgreSQL instead of SQLite). Needs a built dist/ (`npm run build`).
 * Exit code 0 only when no answer was a 5xx, nothing went unanswered, and the server survived.
 */
import { randomInt } from "node:crypto";
import { connect } from "node:net";
import fc from "fast-check";
import {
  assertStillServes,
  FUZZ_BODY_LIMIT,
  type FuzzStats,
  parseRouteTree,
  runHttpFuzz,
  type Send,
  type WireRequest,
  type WireResponse,
} from "../test/fuzz/http-fuzz.js";
import { createTestApp } from "../test/support/harness.js";
import { ADMIN_PASSWORD, type ServerProcess, startServerProcess } from "../test/support/server-process.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
const RAW_RUNS = Number(process.env.FUZZ_RAW_RUNS ?? Math.ceil(RUNS / 10));
const SEED = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 8);
const TIMEOUT_MS = 10_000;

interface RawAnswer {
  /** The final status (after any 1xx), or null when the connection closed without one. */
  status: number | null;
  bytes: Buffer;
  timedOut: boolean;
}

/** Writes `bytes` on a fresh connection and collects everything until the server closes it. */
function exchange(
  port: number,
  bytes: Buffer,
  options: { timeoutMs?: number; closeAfterWrite?: boolean } = {},
) {
  return new Promise<RawAnswer>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, options.timeoutMs ?? TIMEOUT_MS);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      resolve({ status: finalStatus(all), bytes: all, timedOut });
    });
    socket.write(bytes, () => {
      if (options.closeAfterWrite) socket.end();
    });
  });
}

/** The status of the last response head in `bytes`, skipping interim 1xx answers. */
function finalStatus(bytes: Buffer): number | null {
  const text = bytes.toString("latin1");
  let status: number | null = null;
  for (const match of text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)) {
    status = Number(match[1]);
    if (status >= 200) break;
  }
  return status;
}

/** Parses one HTTP/1.1 response (Content-Length, chunked, or until close). */
function parseResponse(bytes: Buffer): WireResponse {
  let start = 0;
  for (;;) {
    const end = bytes.indexOf("\r\n\r\n", start);
    if (end < 0) throw new Error(`no complete answer (${bytes.length} bytes)`);
    const head = bytes.subarray(start, end).toString("latin1");
    const lines = head.split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1]);
    if (!status) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0])}`);
    if (status < 200) {
      start = end + 4;
      continue;
    }
    const headers: Record<string, string | string[]> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers[name];
      headers[name] =
        previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    let body = bytes.subarray(end + 4);
    if (String(headers["transfer-encoding"] ?? "").includes("chunked")) body = dechunk(body);
    else if (headers["content-length"] !== undefined)
      body = body.subarray(0, Number(headers["content-length"]));
    return { status, headers, body: body.toString("utf8") };
  }
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
    if (!size) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Serialises a request as HTTP/1.1 bytes: one request per connection, the client address as X-Forwarded-For. */
function serialise(request: WireRequest, port: number): Buffer {
  const lines: string[] = [];
  if (!request.headers.some(([name]) => name.toLowerCase() === "host")) lines.push(`Host: 127.0.0.1:${port}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  lines.push(`X-Forwarded-For: ${request.remote}`);
  if (request.body) lines.push(`Content-Length: ${request.body.length}`);
  lines.push("Connection: close");
  return Buffer.concat([
    // The path goes out as UTF-8 bytes (as a careless client would send it), header values as Latin-1.
    Buffer.from(`${request.method} ${request.url} HTTP/1.1\r\n`, "utf8"),
    Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"),
    request.body ?? Buffer.alloc(0),
  ]);
}

function tcpSender(server: ServerProcess): Send {
  return async (request) => {
    const answer = await exchange(server.port, serialise(request, server.port));
    if (answer.timedOut) throw new Error(`no answer within ${TIMEOUT_MS} ms`);
    return parseResponse(answer.bytes);
  };
}

// ——— Raw malformed HTTP ——————————————————————————————————————————————————————————————————————

const CRLF = "\r\n";
const ok = (path = "/whoAmI/api/json") =>
  `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Connection: close${CRLF}${CRLF}`;

/** A malformed exchange: the bytes, and whether to hang up right after writing them. */
interface RawCase {
  name: string;
  bytes: Buffer;
  hangUp?: boolean;
}

const rawCase = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 2048 })
    .map((b) => ({ name: "random bytes", bytes: Buffer.from(b) })),
  fc
    .tuple(fc.uint8Array({ maxLength: 200 }), fc.constantFrom("GET", "POST", "PUT", "BREW", "G\u0000T", ""))
    .map(([b, method]) => ({
      name: "garbage request line",
      bytes: Buffer.concat([
        Buffer.from(`${method} `),
        Buffer.from(b),
        Buffer.from(` HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
      ]),
    })),
  fc
    .constantFrom(
      "HTTP/9.9",
      "HTTP/2.0",
      "HTTP/1.2",
      "HTTP/0.9",
      "HTTP/1",
      "HTTPS/1.1",
      "http/1.1",
      "HTTP/1.1 extra",
    )
    .map((version) => ({
      name: "bad version",
      bytes: Buffer.from(`GET / ${version}${CRLF}Host: x${CRLF}Connection: close${CRLF}${CRLF}`),
    })),
  fc
    .constantFrom(
      `GET /${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}${CRLF}`,
      `GET /whoAmI/api/json HTTP/1.1\nHost: x\nConnection: close\n\n`,
      `GET http://evil.example/whoAmI/api/json HTTP/1.1${CRLF}Host: x${CRLF}Connection: close${CRLF}${CRLF}`,
      `OPTIONS * HTTP/1.1${CRLF}Host: x${CRLF}Connection: close${CRLF}${CRLF}`,
      `CONNECT evil.example:443 HTTP/1.1${CRLF}Host: evil.example:443${CRLF}${CRLF}`,
      `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}Host: x${CRLF}Connection: Upgrade${CRLF}Upgrade: websocket${CRLF}${CRLF}`,
      `GET /\u0000 HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}Host: x${CRLF}Bad Header: y${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}Host: x${CRLF}NoColon${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}Host: x${CRLF} folded: continuation${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}Host: x${CRLF}X: a\u0000b${CRLF}${CRLF}`,
      `GET / HTTP/1.1${CRLF}Host: a${CRLF}Host: b${CRLF}Connection: close${CRLF}${CRLF}`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: -1${CRLF}${CRLF}`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 1e3${CRLF}${CRLF}`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 3${CRLF}Content-Length: 4${CRLF}${CRLF}abcd`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 3${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}0${CRLF}${CRLF}`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Transfer-Encoding: gzip${CRLF}${CRLF}abc`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Transfer-Encoding: chunked${CRLF}Connection: close${CRLF}${CRLF}zz${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Transfer-Encoding: chunked${CRLF}Connection: close${CRLF}${CRLF}ffffffffffffffff${CRLF}a${CRLF}`,
      `POST /api/v1/tokens HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Expect: 100-continue${CRLF}Content-Length: 2${CRLF}Connection: close${CRLF}${CRLF}{}`,
      `POST /api/v1/tokens HTTP/1.1${CRLF}Host: x${CRLF}Expect: 42-fish${CRLF}Content-Length: 2${CRLF}Connection: close${CRLF}${CRLF}{}`,
      `${ok()}GARBAGE${CRLF}${CRLF}`,
      `GET /whoAmI/api/json HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}${ok("/me/api/json")}`,
    )
    .map((text) => ({ name: "malformed message", bytes: Buffer.from(text, "latin1") })),
  fc.integer({ min: 20_000, max: 200_000 }).map((n) => ({
    name: "oversize header",
    bytes: Buffer.from(`GET / HTTP/1.1${CRLF}Host: x${CRLF}X-Big: ${"a".repeat(n)}${CRLF}${CRLF}`),
  })),
  fc.integer({ min: 200, max: 3000 }).map((n) => ({
    name: "many headers",
    bytes: Buffer.from(
      `GET / HTTP/1.1${CRLF}Host: x${CRLF}${Array.from({ length: n }, (_, i) => `X-${i}: ${i}`).join(CRLF)}${CRLF}${CRLF}`,
    ),
  })),
  fc.integer({ min: 10_000, max: 100_000 }).map((n) => ({
    name: "oversize URL",
    bytes: Buffer.from(`GET /${"a".repeat(n)} HTTP/1.1${CRLF}Host: x${CRLF}Connection: close${CRLF}${CRLF}`),
  })),
  fc.integer({ min: 1, max: 8 }).map((chunks) => ({
    name: "oversize chunked body",
    bytes: Buffer.from(
      `POST /j_spring_security_check HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/x-www-form-urlencoded${CRLF}Transfer-Encoding: chunked${CRLF}Connection: close${CRLF}${CRLF}` +
        `4000${CRLF}${"a".repeat(0x4000)}${CRLF}`.repeat(chunks + Math.ceil(FUZZ_BODY_LIMIT / 0x4000)) +
        `0${CRLF}${CRLF}`,
    ),
  })),
  fc.integer({ min: 1, max: 5000 }).map((n) => ({
    name: "body cut short, then hang-up",
    bytes: Buffer.from(
      `POST /api/v1/tokens HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: ${n + 100}${CRLF}${CRLF}${"{".repeat(n)}`,
    ),
    hangUp: true,
  })),
  fc.integer({ min: 1, max: 60 }).map((n) => ({
    name: "head cut short, then hang-up",
    bytes: Buffer.from(ok().slice(0, n)),
    hangUp: true,
  })),
);

interface RawStats {
  connections: number;
  byStatus: Map<number | "closed" | "timeout", number>;
  serverErrors: Array<{ name: string; status: number; sent: string }>;
}

async function rawFuzz(server: ServerProcess, runs: number, seed: number): Promise<RawStats> {
  const stats: RawStats = { connections: 0, byStatus: new Map(), serverErrors: [] };
  const cases = fc.sample(rawCase as fc.Arbitrary<RawCase>, { numRuns: runs, seed });
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const item = cases[next++]!;
        // A message the server waits on forever (it is incomplete) ends when we give up: 2 s is plenty.
        const answer = await exchange(server.port, item.bytes, {
          timeoutMs: 2000,
          closeAfterWrite: item.hangUp,
        });
        stats.connections++;
        const key = answer.status ?? (answer.timedOut ? "timeout" : "closed");
        stats.byStatus.set(key, (stats.byStatus.get(key) ?? 0) + 1);
        if (answer.status !== null && answer.status >= 500) {
          stats.serverErrors.push({
            name: item.name,
            status: answer.status,
            sent: item.bytes.subarray(0, 200).toString("latin1"),
          });
        }
      }
    }),
  );
  return stats;
}

// ——— Main ————————————————————————————————————————————————————————————————————————————————————

function table(map: Map<number | string, number>): string {
  return [...map]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([status, count]) => `${status}: ${count}`)
    .join(", ");
}

async function main(): Promise<number> {
  const probe = await createTestApp();
  const routes = parseRouteTree(probe.app.printRoutes({ commonPrefix: false }));
  await probe.close();

  const server = await startServerProcess({
    env: {
      STEWARD_BODY_LIMIT: String(FUZZ_BODY_LIMIT),
      STEWARD_TRUST_PROXY: "127.0.0.1",
      STEWARD_AUTH_FAILURES_PER_USER: "1000000",
      ...(process.env.FUZZ_DATABASE_URL ? { STEWARD_DATABASE_URL: process.env.FUZZ_DATABASE_URL } : {}),
    },
  });
  let died = false;
  void server.exited.then(() => {
    died = true;
  });
  console.log(`Steward (pid ${server.pid}) at ${server.url}; ${routes.length} routes; seed ${SEED}`);
  console.log(`structured fuzz: ${RUNS} requests, ${CONCURRENCY} at a time…`);
  const started = Date.now();
  let stats: FuzzStats | null = null;
  let failed = false;
  let printed = 0;
  try {
    const send = tcpSender(server);
    const run = await runHttpFuzz({
      send,
      routes,
      runs: RUNS,
      seed: SEED,
      adminPassword: ADMIN_PASSWORD,
      concurrency: CONCURRENCY,
      refreshEvery: 500,
      // Enough addresses that the per-address limit (30 failures per 5 minutes) does not end the run early.
      addresses: Math.max(16, Math.ceil(RUNS / 40)),
      onProgress: (s) => {
        if (s.requests - printed >= 5000 || s.requests === RUNS) {
          printed = s.requests;
          console.log(`  ${s.requests} sent, ${s.serverErrors} 5xx, ${s.noAnswer} unanswered`);
        }
      },
    });
    stats = run.stats;
    console.log(`raw fuzz: ${RAW_RUNS} connections of malformed HTTP…`);
    const raw = await rawFuzz(server, RAW_RUNS, SEED);
    const alive = !died;
    let serves = "yes";
    try {
      await assertStillServes(run.session, send);
    } catch (error) {
      serves = `NO: ${(error as Error).message}`;
    }
    // Errors the server logged: a bug ("unhandled error"), or a client problem taken for an outage.
    const unhandled = (server.output().match(/unhandled error|database unavailable/g) ?? []).length;
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(
      [
        "",
        `Requests fuzzed: ${stats.requests} structured + ${raw.connections} raw connections (${seconds} s, seed ${SEED})`,
        `5xx seen: ${stats.serverErrors + raw.serverErrors.length}`,
        `unanswered: ${stats.noAnswer}`,
        `structured answers: ${table(stats.byStatus)}`,
        `raw answers: ${table(raw.byStatus)}`,
        `server still running: ${alive ? "yes" : "NO"}; answers a valid token request: ${serves}; "unhandled error"/"database unavailable" log lines: ${unhandled}`,
      ].join("\n"),
    );
    for (const failure of [...stats.failures, ...raw.serverErrors].slice(0, 20))
      console.log("FAILURE", JSON.stringify(failure));
    failed =
      stats.serverErrors > 0 ||
      stats.noAnswer > 0 ||
      raw.serverErrors.length > 0 ||
      !alive ||
      serves !== "yes" ||
      unhandled > 0;
  } catch (error) {
    console.error("the fuzz run could not complete:", error);
    console.error(server.output().slice(-4000));
    failed = true;
  } finally {
    await server.stop().catch(() => undefined);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
