/**
 * HTTP fuzzing shared by the CI run (test/hardening-fuzz.test.ts, through `app.inject`) and the long
 * run (scripts/fuzz.ts, over TCP against a real server process).
 *
 * A request is generated as a small, printable *spec* (fast-check, seeded, reproducible) and turned
 * into bytes only when it is sent, with the current credentials filled in: valid tokens, sessions and
 * crumbs get revoked or destroyed by the fuzz itself, so a `FuzzSession` renews them now and then.
 * The property is simple: whatever arrives, the answer is never a 5xx, and the server keeps working.
 */
import fc from "fast-check";

/** Largest body the fuzzed servers accept: small, so "over the limit" bodies stay cheap. */
export const FUZZ_BODY_LIMIT = 16 * 1024;

export const ALICE_PASSWORD = "alice-fuzz-password";

/** Where the fuzz session renews its credentials from: never rate-limited by the fuzz traffic. */
export const REFRESH_ADDRESS = "10.255.255.254";

const TOKEN_METHODS = [
  "generateNewToken",
  "addFixedToken",
  "revoke",
  "rename",
  "revokeAll",
  "revokeAllExcept",
  "changeToken",
];

/** Paths worth hitting besides the registered routes: Jenkins surface variants and near misses. */
const EXTRA_PATHS = [
  "/",
  "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken/",
  "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke",
  "/crumbIssuer/api/xml",
  "/j_spring_security_check",
  "/logout",
  "/login",
  "/loginError",
  "/static/steward.css",
  "/static/../package.json",
  "/static/%2e%2e%2fpackage.json",
  "/api/v1/openapi.json",
  "/api/v1/tokens/self/rotate",
  "/auth/verify",
  "/api/v1/nothing",
  "/computer/api/json",
  "/user/alice/configure",
  "/../../etc/passwd",
  "/%00",
  "/%2F%2F",
];

// ——— Specs ————————————————————————————————————————————————————————————————————————————————

/** Placeholders replaced when a spec is sent: the values they stand for change during a run. */
const P = {
  tokenId: "⟦tokenId⟧",
  aliceToken: "⟦aliceToken⟧",
} as const;

export type Who = "alice" | "admin";

export type AuthSpec =
  | { kind: "none" }
  | { kind: "raw"; value: string }
  | {
      kind: "basic";
      user: "alice" | "admin" | "ALICE" | "nobody";
      secret: "token" | "password" | "wrong-password" | "wrong-token";
    };

export type CookieSpec =
  | { kind: "none" }
  | { kind: "session"; who: Who | "anonymous" }
  | { kind: "raw"; value: string };
export type CrumbSpec = { kind: "none" } | { kind: "valid" } | { kind: "raw"; value: string };

export type BodySpec =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "bytes"; data: readonly number[] }
  | { kind: "huge"; extra: number; wrapJson: boolean }
  | { kind: "deep"; depth: number; open: "[" | "{" };

export interface RequestSpec {
  method: string;
  /** The route template it came from (for coverage figures), or "(mutated)". */
  route: string;
  /** Path and query as sent, placeholders included. */
  url: string;
  auth: AuthSpec;
  cookie: CookieSpec;
  crumb: CrumbSpec;
  contentType: string | null;
  headers: Array<[string, string]>;
  body: BodySpec;
  /** The client address: `remoteAddress` in memory, `X-Forwarded-For` over TCP. */
  remote: string;
}

export interface RouteInfo {
  path: string;
  methods: string[];
}

/** The routes of an app, from Fastify's `printRoutes({ commonPrefix: false })` tree. */
export function parseRouteTree(tree: string): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const match = /^([│ ]*)(?:├── |└── )(.*?) \(([^)]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (stack[depth - 1] ?? "") + match[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    routes.push({ path, methods: match[3]!.split(",").map((m) => m.trim()) });
  }
  return routes;
}

// ——— Arbitraries ——————————————————————————————————————————————————————————————————————————

/** Bytes that are not UTF-8: lone continuation, overlong, surrogate, truncated, out of range. */
const INVALID_UTF8: number[][] = [
  [0x80],
  [0xc3, 0x28],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0xff, 0xfe],
];

/** Characters an HTTP header value may carry (Node refuses the others before sending). */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
);
const headerValue = (maxLength = 200) =>
  fc.array(headerChar, { maxLength }).map((codes) => String.fromCharCode(...codes));
const tokenChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const headerName = fc
  .array(fc.constantFrom(...tokenChars), { minLength: 1, maxLength: 30 })
  .map((chars) => chars.join(""));

const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "\u202e\u0301",
    "😀".repeat(60),
    "x".repeat(101),
    "x".repeat(5000),
    "1999-01-01",
    "2999-12-31",
    "custom",
    "never",
    "-1",
    "1e309",
    "NaN",
    "__proto__",
  ),
);

const fakeToken = fc.constantFrom(
  "stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
  "110123456789abcdef0123456789abcdef",
  "11XYZ3456789abcdef0123456789abcdef",
  "0123456789abcdef0123456789abcdef",
  `stw_${"z".repeat(36)}`,
  P.aliceToken,
);

/** A query value: random text, a token-looking value, an xpath form, or a broken %-encoding. */
const queryValue = fc.oneof(
  { weight: 4, arbitrary: anyText.map((text) => safeEncode(text)) },
  { weight: 1, arbitrary: fakeToken },
  { weight: 1, arbitrary: fc.constant(P.tokenId) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "/*/crumb/text()",
      "/*/crumbRequestField/text()",
      'concat(//crumbRequestField,":",//crumb)',
      "concat(//crumbRequestField,'=',//crumb)",
      "//crumb",
      "jobs[url,color,name]",
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("%", "%zz", "%E0%A4", "%00", "%FF%FE", "+", "%u0041", "a%2", "%%%"),
  },
);

const QUERY_KEYS = [
  "newTokenName",
  "tokenUuid",
  "newName",
  "newTokenPlainValue",
  "expirationDuration",
  "tokenExpiration",
  "tokenFormat",
  "xpath",
  "jsonp",
  "from",
  "tree",
  "depth",
  "cursor",
  "limit",
  "includeRevoked",
  "user",
  "token",
  "action",
  "since",
  "until",
  "q",
  "kind",
  "after",
  "before",
  "search",
  "Jenkins-Crumb",
  "j_username",
  "j_password",
  "__proto__",
  "constructor[prototype]",
  "a[b][c]",
];
const queryKey = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...QUERY_KEYS) },
  { weight: 1, arbitrary: anyText.map((text) => safeEncode(text)) },
);
/** Pairs, sometimes repeated: `?from=a&from=b` makes the parsed value an array instead of a string. */
const queryString = fc
  .tuple(
    fc.array(fc.tuple(queryKey, fc.option(queryValue, { nil: undefined })), { maxLength: 6 }),
    fc.boolean(),
  )
  .map(([pairs, repeat]) =>
    (repeat ? [...pairs, ...pairs] : pairs).map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join("&"),
  );

function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80";
  }
}

const userParam = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("alice", "ALICE", "bob", "nobody", "svc-build") },
  { weight: 1, arbitrary: anyText.map((text) => safeEncode(text)) },
  { weight: 1, arbitrary: fc.constantFrom("a".repeat(64), "a".repeat(65), "%2e%2e", "..", "%00", "a%2Fb") },
);
const idParam = fc.oneof(
  { weight: 3, arbitrary: fc.constant(P.tokenId) },
  { weight: 1, arbitrary: fc.uuid() },
  {
    weight: 1,
    arbitrary: fc.constantFrom("self", "report-leak", "0", "-1", "00000000-0000-0000-0000-00000000000g"),
  },
  { weight: 1, arbitrary: anyText.map((text) => safeEncode(text)) },
);
const methodParam = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...TOKEN_METHODS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("toString", "constructor", "__proto__", "hasOwnProperty", "GENERATENEWTOKEN"),
  },
  { weight: 1, arbitrary: anyText.map((text) => safeEncode(text)) },
);
const fileParam = fc.oneof(
  fc.constantFrom(
    "steward.css",
    "steward.js",
    "..",
    "%2e%2e%2fpackage.json",
    "STEWARD.CSS",
    "steward.css%00",
  ),
  anyText.map((text) => safeEncode(text)),
);

/** Fills each `:param` of a route template with a plausible or hostile value. */
function pathFor(template: string): fc.Arbitrary<string> {
  const parts = template.split("/").map((segment) => {
    if (!segment.startsWith(":")) return fc.constant(segment);
    const name = segment.slice(1);
    if (name === "method") return methodParam;
    if (name === "file") return fileParam;
    if (name === "id") return template.startsWith("/api/v1/tokens") ? idParam : userParam;
    return anyText.map((text) => safeEncode(text));
  });
  return fc.tuple(...parts).map((segments) => segments.join("/"));
}

/** Structural mutations of a path: slashes, case, encodings, dot segments, length. */
const pathMutation = fc.constantFrom<(path: string) => string>(
  (p) => `${p}/`,
  (p) => p.replace(/\//g, "//"),
  (p) => p.toUpperCase(),
  (p) => `${p}%00`,
  (p) => `${p}/..`,
  (p) => p.replace(/\//g, "%2F"),
  (p) => `${p};jsessionid=abc`,
  (p) => `${p}${"/x".repeat(2000)}`,
  (p) => `${p}#fragment`,
  (p) => `/${"a".repeat(300)}${p}`,
  (p) => p.replace(/[aeiou]/, "%"),
  (p) => `${p}\u00e9\u00fc`,
);

function urlArbitrary(routes: readonly RouteInfo[]): fc.Arbitrary<{ route: string; path: string }> {
  const templates = [...new Set([...routes.map((r) => r.path), ...EXTRA_PATHS])];
  const fromTemplate = fc
    .constantFrom(...templates)
    .chain((template) => pathFor(template).map((path) => ({ route: template, path })));
  return fc.oneof(
    { weight: 6, arbitrary: fromTemplate },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fromTemplate, pathMutation)
        .map(([{ path }, mutate]) => ({ route: "(mutated)", path: mutate(path) })),
    },
    {
      weight: 1,
      arbitrary: anyText.map((text) => ({
        route: "(random)",
        path: `/${safeEncode(text).replace(/%2F/g, "/")}`,
      })),
    },
  );
}

const authArbitrary: fc.Arbitrary<AuthSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("basic" as const),
      user: fc.constantFrom("alice" as const, "admin" as const, "ALICE" as const, "nobody" as const),
      secret: fc.constantFrom(
        "token" as const,
        "token" as const,
        "password" as const,
        "wrong-password" as const,
        "wrong-token" as const,
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "Basic",
          "Basic ",
          "basic YWxpY2U=",
          "BASIC YWxpY2U6",
          "Basic =====",
          "Basic YWxp Y2U6eA==",
          "Basic !!!!",
          "Bearer stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
          "Digest username=alice",
          "Negotiate YII=",
          `Basic ${"A".repeat(10_000)}`,
          `Basic ${Buffer.from(`${"a".repeat(5000)}:x`).toString("base64")}`,
        ),
        fc.uint8Array({ maxLength: 80 }).map((bytes) => `Basic ${Buffer.from(bytes).toString("base64")}`),
        fc
          .tuple(fc.constantFrom(...INVALID_UTF8), fc.boolean())
          .map(
            ([bad, inUser]) =>
              `Basic ${Buffer.concat(inUser ? [Buffer.from(bad), Buffer.from(":x")] : [Buffer.from("alice:"), Buffer.from(bad)]).toString("base64")}`,
          ),
        headerValue(300).map((v) => `Basic ${v}`),
        headerValue(100),
      )
      .map((value) => ({ kind: "raw" as const, value })),
  },
);

const cookieArbitrary: fc.Arbitrary<CookieSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom("alice" as const, "admin" as const, "anonymous" as const)
      .map((who) => ({ kind: "session" as const, who })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "steward_session=",
          "steward_session=%E0%A4%A",
          `steward_session=${"A".repeat(43)}`,
          `steward_session=${"A".repeat(5000)}`,
          "steward_session=a; steward_session=b",
          ";;;===;;",
          "=",
          "steward_session",
          'a=%%; b=\\"',
        ),
        headerValue(120).map((v) => `steward_session=${v}`),
        headerValue(200),
      )
      .map((value) => ({ kind: "raw" as const, value })),
  },
);

const crumbArbitrary: fc.Arbitrary<CrumbSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "valid" as const }) },
  { weight: 1, arbitrary: headerValue(80).map((value) => ({ kind: "raw" as const, value })) },
);

const contentTypeArbitrary = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "application/json; charset=utf-16",
      "application/vnd.steward+json",
      "APPLICATION/JSON",
      "application/x-www-form-urlencoded",
      "application/x-www-form-urlencoded; charset=iso-8859-1",
      "multipart/form-data",
      "multipart/form-data; boundary=",
      "text/plain",
      "text/xml",
      "application/xml",
      "application/octet-stream",
      "*/*",
      "",
      ";",
      "application/json;;;",
      "application/json; charset=",
      'x/y; a="unterminated',
    ),
  },
  { weight: 1, arbitrary: headerValue(60) },
);

const JSON_KEYS = [
  "name",
  "expiresIn",
  "expiresAt",
  "scopes",
  "allowedCidrs",
  "format",
  "graceSeconds",
  "tokens",
  "id",
  "fullName",
  "email",
  "roles",
  "kind",
  "ownerId",
  "url",
  "events",
  "newTokenName",
  "tokenUuid",
  "includeRevoked",
  "maxTokenLifetimeSeconds",
  "legacyTokensEnabled",
  "__proto__",
  "constructor",
];
const jsonLeaf = fc.oneof(
  anyText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fakeToken,
  fc.constant(P.tokenId),
  fc.constantFrom(
    "tokens:read",
    "jenkins:api",
    "admin",
    "10.0.0.0/8",
    "::/0",
    "2030-01-01T00:00:00Z",
    "steward",
  ),
);
const jsonBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .dictionary(fc.constantFrom(...JSON_KEYS), fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 5 })), {
        maxKeys: 5,
      })
      .map((object) => JSON.stringify(object)),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "{",
      "}",
      '{"name":',
      '{"name":"x"}garbage',
      '{"__proto__":{"isAdmin":true}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '{"name":"a","name":"b"}',
      '{"expiresIn":1e400}',
      '{"name":"a\\u0000b"}',
      '{"name":"\\ud800"}',
      "null",
      "[]",
      '"just a string"',
      "12",
      "\ufeff{}",
      `{"tokens":[${'"stw_x",'.repeat(500)}"y"]}`,
      '{"graceSeconds":-1}',
      '{"graceSeconds":99999999999999999999}',
      '{"allowedCidrs":["::ffff:0:0/96","0.0.0.0/0","1.2.3.4/33","fe80::1%eth0"]}',
    ),
  },
);
const formBody = fc
  .array(fc.tuple(queryKey, queryValue), { maxLength: 6 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("&"));

const bodyArbitrary: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 4, arbitrary: jsonBody.map((text) => ({ kind: "text" as const, text })) },
  { weight: 3, arbitrary: formBody.map((text) => ({ kind: "text" as const, text })) },
  {
    weight: 2,
    arbitrary: fc
      .uint8Array({ maxLength: 1024 })
      .map((data) => ({ kind: "bytes" as const, data: [...data] })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...INVALID_UTF8), fc.constantFrom('{"name":"', "newTokenName=", "", '{"'))
      .map(([bad, prefix]) => ({
        kind: "bytes" as const,
        data: [...Buffer.from(prefix), ...bad, ...Buffer.from(prefix.startsWith("{") ? '"}' : "")],
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { kind: "text" as const, text: '{"name":"a\u0000b"}' },
      { kind: "text" as const, text: "newTokenName=a%00b&tokenUuid=%00" },
      { kind: "bytes" as const, data: [0, 0, 0, 0] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ extra: fc.integer({ min: 1, max: 64 * 1024 }), wrapJson: fc.boolean() })
      .map((r) => ({ kind: "huge" as const, ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        depth: fc.integer({ min: 100, max: 7000 }),
        open: fc.constantFrom("[" as const, "{" as const),
      })
      .map((r) => ({ kind: "deep" as const, ...r })),
  },
);

const extraHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constant("referer"), fc.constant(`http://alice:${P.aliceToken}@jenkins.example/`)),
    fc.tuple(
      fc.constantFrom(
        "user-agent",
        "accept",
        "accept-language",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "origin",
        "referer",
        "content-encoding",
        "if-none-match",
        "range",
        "x-http-method-override",
        "forwarded",
        "jenkins-crumb",
        "accept-encoding",
      ),
      headerValue(200),
    ),
    fc.tuple(headerName, headerValue(100)),
  ),
  { maxLength: 4 },
);

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "MKCOL"];
/** Client addresses: a pool of `size` (so some exhaust the per-address limit) and a few odd ones. */
const remoteArbitrary = (size: number) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.integer({ min: 1, max: size }).map((n) => `10.0.${(n >> 8) & 255}.${n & 255}`),
    },
    { weight: 1, arbitrary: fc.constantFrom("127.0.0.1", "::1", "::ffff:10.0.0.7", "2001:db8::5") },
  );

/**
 * A request spec that targets `routes` (and some near misses), with every header and body variant,
 * from one of `addresses` client addresses.
 */
export function requestArbitrary(routes: readonly RouteInfo[], addresses = 16): fc.Arbitrary<RequestSpec> {
  const routeMethods = new Map(routes.map((r) => [r.path, r.methods]));
  return fc
    .record({
      target: urlArbitrary(routes),
      query: fc.option(queryString, { nil: undefined, freq: 2 }),
      methodChoice: fc.oneof(
        { weight: 3, arbitrary: fc.constant("route" as const) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      auth: authArbitrary,
      cookie: cookieArbitrary,
      crumb: crumbArbitrary,
      contentType: contentTypeArbitrary,
      headers: extraHeaders,
      body: bodyArbitrary,
      remote: remoteArbitrary(addresses),
      methodIndex: fc.nat(),
    })
    .map((r) => {
      const declared = routeMethods.get(r.target.route) ?? ["GET", "POST"];
      const method = r.methodChoice === "route" ? declared[r.methodIndex % declared.length]! : r.methodChoice;
      return {
        method,
        route: r.target.route,
        url: r.query === undefined ? r.target.path : `${r.target.path}?${r.query}`,
        auth: r.auth,
        cookie: r.cookie,
        crumb: r.crumb,
        contentType: r.contentType,
        headers: r.headers,
        body: r.body,
        remote: r.remote,
      };
    });
}

// ——— Sending ————————————————————————————————————————————————————————————————————————————————

/** A request ready to go: what both senders (inject, TCP) take. */
export interface WireRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Buffer | null;
  remote: string;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Sends one request and returns the answer; rejects only when no answer came at all. */
export type Send = (request: WireRequest) => Promise<WireResponse>;

/** Live credentials the fuzz uses and sometimes destroys; renewed by `FuzzSession.refresh`. */
export interface Credentials {
  tokens: Record<Who, string>;
  tokenIds: Record<Who, string>;
  sessions: Record<Who | "anonymous", { cookie: string; crumb: string }>;
  adminPassword: string;
}

function basicHeader(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
}

function substitute(text: string, credentials: Credentials): string {
  return text
    .replaceAll(P.tokenId, credentials.tokenIds.alice)
    .replaceAll(P.aliceToken, credentials.tokens.alice);
}

function bodyBytes(body: BodySpec, credentials: Credentials): Buffer | null {
  switch (body.kind) {
    case "none":
      return null;
    case "text":
      return Buffer.from(substitute(body.text, credentials), "utf8");
    case "bytes":
      return Buffer.from(body.data);
    case "huge": {
      const size = FUZZ_BODY_LIMIT + body.extra;
      return body.wrapJson
        ? Buffer.from(`{"name":"${"a".repeat(size)}"}`)
        : Buffer.alloc(size, "newTokenName=x&");
    }
    case "deep":
      return Buffer.from(
        body.open === "["
          ? "[".repeat(body.depth) + "]".repeat(body.depth)
          : `${'{"a":'.repeat(body.depth)}1${"}".repeat(body.depth)}`,
      );
  }
}

/** Turns a spec into a request with today's credentials. */
export function materialize(spec: RequestSpec, credentials: Credentials): WireRequest {
  const headers: Array<[string, string]> = [];
  const auth = spec.auth;
  if (auth.kind === "raw") headers.push(["authorization", auth.value]);
  if (auth.kind === "basic") {
    const who: Who = auth.user === "admin" ? "admin" : "alice";
    const secret = {
      token: credentials.tokens[who],
      password: who === "admin" ? credentials.adminPassword : ALICE_PASSWORD,
      "wrong-password": "not-the-password",
      "wrong-token": "stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
    }[auth.secret];
    headers.push(["authorization", basicHeader(auth.user, secret)]);
  }
  if (spec.cookie.kind === "raw") headers.push(["cookie", spec.cookie.value]);
  if (spec.cookie.kind === "session") headers.push(["cookie", credentials.sessions[spec.cookie.who].cookie]);
  if (spec.crumb.kind === "raw") headers.push(["jenkins-crumb", spec.crumb.value]);
  if (spec.crumb.kind === "valid") {
    const who = spec.cookie.kind === "session" ? spec.cookie.who : "anonymous";
    headers.push(["jenkins-crumb", credentials.sessions[who].crumb]);
  }
  if (spec.contentType !== null) headers.push(["content-type", spec.contentType]);
  for (const [name, value] of spec.headers) headers.push([name, substitute(value, credentials)]);
  return {
    method: spec.method,
    url: substitute(spec.url, credentials),
    headers,
    body: bodyBytes(spec.body, credentials),
    remote: spec.remote,
  };
}

/** One line that replays a spec by hand: method, url and every header, body as base64. */
export function describe(request: WireRequest): string {
  const body = request.body
    ? request.body.length > 300
      ? `<${request.body.length} bytes>`
      : request.body.toString("base64")
    : "";
  return JSON.stringify({
    method: request.method,
    url: request.url.slice(0, 300),
    headers: request.headers,
    body,
  });
}

/** An answer's text without markup, short enough to read in a failure report. */
function textOf(body: string): string {
  const main = body.includes("<main") ? body.slice(body.indexOf("<main")) : body;
  return main
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

// ——— The fuzz session: credentials that survive the fuzz ————————————————————————————————

function cookieFrom(response: WireResponse): string | null {
  const raw = response.headers["set-cookie"];
  for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const match = /^(steward_session=[^;]+)/.exec(String(line));
    if (match) return match[1]!;
  }
  return null;
}

export class FuzzStateError extends Error {
  override readonly name = "FuzzStateError";
}

/**
 * Keeps valid credentials for `admin` and `alice` while the fuzz revokes tokens, logs out sessions,
 * changes settings and even deletes alice: `refresh()` puts everything back, over HTTP only, from an
 * address the fuzz traffic never uses (so it is never rate-limited).
 */
export class FuzzSession {
  readonly credentials: Credentials;
  private initialSettings: string | null = null;
  private checks = 0;

  constructor(
    private readonly send: Send,
    adminPassword: string,
  ) {
    const empty = { cookie: "", crumb: "" };
    this.credentials = {
      tokens: { alice: "", admin: "" },
      tokenIds: { alice: "", admin: "" },
      sessions: { alice: empty, admin: empty, anonymous: empty },
      adminPassword,
    };
  }

  private request(
    method: string,
    url: string,
    headers: Array<[string, string]> = [],
    body: string | null = null,
  ): Promise<WireResponse> {
    return this.send({
      method,
      url,
      headers,
      body: body === null ? null : Buffer.from(body),
      remote: REFRESH_ADDRESS,
    });
  }

  /** Signs in through the form and fetches a crumb for that session. */
  private async login(user: string, password: string): Promise<{ cookie: string; crumb: string }> {
    const form = new URLSearchParams({ j_username: user, j_password: password, from: "/" }).toString();
    const response = await this.request(
      "POST",
      "/j_spring_security_check",
      [["content-type", "application/x-www-form-urlencoded"]],
      form,
    );
    const cookie = cookieFrom(response);
    const location = String(response.headers.location ?? "");
    if (response.status !== 302 || !cookie || location.startsWith("/loginError")) {
      throw new FuzzStateError(`cannot sign in as ${user}: ${response.status} ${location}`);
    }
    return { cookie, crumb: await this.crumb(cookie) };
  }

  private async crumb(cookie: string): Promise<string> {
    const response = await this.request("GET", "/crumbIssuer/api/json", [["cookie", cookie]]);
    if (response.status !== 200) throw new FuzzStateError(`no crumb: ${response.status}`);
    return (JSON.parse(response.body) as { crumb: string }).crumb;
  }

  private async generate(session: { cookie: string; crumb: string }): Promise<{ value: string; id: string }> {
    const response = await this.request(
      "POST",
      "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
      [
        ["cookie", session.cookie],
        ["jenkins-crumb", session.crumb],
        ["content-type", "application/x-www-form-urlencoded"],
      ],
      "newTokenName=fuzz",
    );
    const data =
      response.status === 200
        ? (JSON.parse(response.body) as { data?: { tokenValue?: string; tokenUuid?: string } }).data
        : undefined;
    if (!data?.tokenValue || !data.tokenUuid)
      throw new FuzzStateError(`cannot generate a token: ${response.status} ${response.body.slice(0, 200)}`);
    return { value: data.tokenValue, id: data.tokenUuid };
  }

  /**
   * The name whoAmI reports for a Basic user:token. Each check comes from an address of its own: a
   * revoked token is a failed check, and failed checks from one address are rate-limited.
   */
  async whoIs(user: string, token: string): Promise<string | null> {
    this.checks++;
    const response = await this.send({
      method: "GET",
      url: "/whoAmI/api/json",
      headers: [["authorization", basicHeader(user, token)]],
      body: null,
      remote: `10.254.${(this.checks >> 8) & 255}.${this.checks & 255}`,
    });
    if (response.status !== 200) return null;
    return (JSON.parse(response.body) as { name?: string }).name ?? null;
  }

  private adminJson(method: string, url: string, body?: unknown): Promise<WireResponse> {
    const headers: Array<[string, string]> = [
      ["authorization", basicHeader("admin", this.credentials.tokens.admin)],
    ];
    if (body !== undefined) headers.push(["content-type", "application/json"]);
    return this.request(method, url, headers, body === undefined ? null : JSON.stringify(body));
  }

  /** Restores users, settings, tokens and sessions. */
  async refresh(): Promise<void> {
    const c = this.credentials;
    if (!c.tokens.admin || (await this.whoIs("admin", c.tokens.admin)) !== "admin") {
      c.sessions.admin = await this.login("admin", c.adminPassword);
      const issued = await this.generate(c.sessions.admin);
      c.tokens.admin = issued.value;
      c.tokenIds.admin = issued.id;
    } else {
      c.sessions.admin = await this.loginOrKeep("admin", c.adminPassword, c.sessions.admin);
    }
    if (this.initialSettings === null) {
      const settings = await this.adminJson("GET", "/api/v1/settings");
      if (settings.status === 200) this.initialSettings = settings.body;
    } else {
      await this.adminJson("PATCH", "/api/v1/settings", JSON.parse(this.initialSettings));
    }
    // alice: exists, enabled, a plain user, with her password.
    const patched = await this.adminJson("PATCH", "/api/v1/users/alice", {
      password: ALICE_PASSWORD,
      disabled: false,
      roles: ["user"],
    });
    if (patched.status === 404) {
      const created = await this.adminJson("POST", "/api/v1/users", {
        id: "alice",
        password: ALICE_PASSWORD,
        roles: ["user"],
      });
      if (created.status !== 201 && created.status !== 200)
        throw new FuzzStateError(`cannot create alice: ${created.status} ${created.body.slice(0, 200)}`);
    } else if (patched.status !== 200) {
      throw new FuzzStateError(`cannot reset alice: ${patched.status} ${patched.body.slice(0, 200)}`);
    }
    c.sessions.alice = await this.login("alice", ALICE_PASSWORD);
    const issued = await this.generate(c.sessions.alice);
    c.tokens.alice = issued.value;
    c.tokenIds.alice = issued.id;
    const anonymous = await this.request("GET", "/crumbIssuer/api/json");
    const cookie = cookieFrom(anonymous);
    if (anonymous.status !== 200 || !cookie)
      throw new FuzzStateError(`no anonymous session: ${anonymous.status}`);
    c.sessions.anonymous = { cookie, crumb: (JSON.parse(anonymous.body) as { crumb: string }).crumb };
  }

  /** Keeps a session that still works (its crumb still accepted on whoAmI), else signs in again. */
  private async loginOrKeep(
    user: string,
    password: string,
    session: { cookie: string; crumb: string },
  ): Promise<{ cookie: string; crumb: string }> {
    if (session.cookie) {
      const response = await this.request("GET", "/whoAmI/api/json", [["cookie", session.cookie]]);
      if (response.status === 200 && (JSON.parse(response.body) as { name?: string }).name === user)
        return session;
    }
    return this.login(user, password);
  }
}

// ——— The run ————————————————————————————————————————————————————————————————————————————————

export interface FuzzFailure {
  status: number | "no answer";
  request: string;
  body: string;
}

export interface FuzzStats {
  requests: number;
  byStatus: Map<number, number>;
  byRoute: Map<string, number>;
  serverErrors: number;
  noAnswer: number;
  failures: FuzzFailure[];
  refreshes: number;
}

export interface FuzzOptions {
  send: Send;
  routes: readonly RouteInfo[];
  runs: number;
  seed: number;
  adminPassword: string;
  /** Renew credentials after this many requests. */
  refreshEvery?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** How many client addresses the requests come from (default 16). */
  addresses?: number;
  /** Called after each batch, for progress. */
  onProgress?: (stats: FuzzStats) => void;
}

/** Sends `runs` generated requests; every 5xx (and every request left without an answer) is a failure. */
export async function runHttpFuzz(options: FuzzOptions): Promise<{ stats: FuzzStats; session: FuzzSession }> {
  const session = new FuzzSession(options.send, options.adminPassword);
  await session.refresh();
  const stats: FuzzStats = {
    requests: 0,
    byStatus: new Map(),
    byRoute: new Map(),
    serverErrors: 0,
    noAnswer: 0,
    failures: [],
    refreshes: 1,
  };
  const arbitrary = requestArbitrary(options.routes, options.addresses);
  const batchSize = options.refreshEvery ?? 150;
  const concurrency = options.concurrency ?? 1;
  for (let batch = 0; stats.requests < options.runs; batch++) {
    const size = Math.min(batchSize, options.runs - stats.requests);
    const specs = fc.sample(arbitrary, { numRuns: size, seed: options.seed + batch });
    let next = 0;
    const worker = async () => {
      while (next < specs.length) {
        const spec = specs[next++]!;
        const request = materialize(spec, session.credentials);
        stats.requests++;
        stats.byRoute.set(spec.route, (stats.byRoute.get(spec.route) ?? 0) + 1);
        let response: WireResponse;
        try {
          response = await options.send(request);
        } catch (error) {
          stats.noAnswer++;
          stats.failures.push({ status: "no answer", request: describe(request), body: String(error) });
          continue;
        }
        stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
        if (response.status >= 500) {
          stats.serverErrors++;
          stats.failures.push({
            status: response.status,
            request: describe(request),
            body: textOf(response.body),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await session.refresh();
    stats.refreshes++;
    options.onProgress?.(stats);
  }
  return { stats, session };
}

/**
 * After a fuzz run: a token still authenticates, generating and revoking still work. Throws with the
 * reason when the server no longer answers correctly.
 */
export async function assertStillServes(session: FuzzSession, send: Send): Promise<void> {
  const { tokens } = session.credentials;
  if ((await session.whoIs("alice", tokens.alice)) !== "alice")
    throw new Error("alice's token no longer works");
  const generated = await send({
    method: "POST",
    url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=after-fuzz",
    headers: [["authorization", basicHeader("alice", tokens.alice)]],
    body: null,
    remote: REFRESH_ADDRESS,
  });
  const data = (JSON.parse(generated.body) as { data?: { tokenValue?: string; tokenUuid?: string } }).data;
  if (generated.status !== 200 || !data?.tokenValue || !data.tokenUuid) {
    throw new Error(`generateNewToken after the fuzz: ${generated.status} ${generated.body.slice(0, 200)}`);
  }
  if ((await session.whoIs("alice", data.tokenValue)) !== "alice")
    throw new Error("the new token does not work");
  const revoked = await send({
    method: "POST",
    url: `/me/descriptorByName/jenkins.security.ApiTokenProperty/revoke?tokenUuid=${data.tokenUuid}`,
    headers: [["authorization", basicHeader("alice", tokens.alice)]],
    body: null,
    remote: REFRESH_ADDRESS,
  });
  if (revoked.status !== 200) throw new Error(`revoke after the fuzz: ${revoked.status}`);
  if ((await session.whoIs("alice", data.tokenValue)) !== null)
    throw new Error("a revoked token still works");
}
