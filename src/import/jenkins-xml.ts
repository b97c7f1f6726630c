import { XMLParser, XMLValidator } from "fast-xml-parser";

/**
 * Pure parsing of the XML files Jenkins keeps under `users/` (JENKINS.md §9): no file system here, so
 * every quirk is tested on strings. `jenkins-home.ts` walks the folders and merges the results.
 *
 * Messages never contain secrets: no token hashes, no password hashes, no legacy token values.
 */

/** A parsed element: text, a child map, or a list of either (repeated elements). */
type XmlNode = string | { [name: string]: XmlNode } | XmlNode[];

const HASHED_TOKEN = "jenkins.security.apitoken.ApiTokenStore_-HashedToken";
const SINGLE_TOKEN_STATS = "jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats";
const REPEATED = new Set([HASHED_TOKEN, SINGLE_TOKEN_STATS, "entry", "string"]);

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  // Decodes numeric character references (`&#233;`), which XStream writes for some characters.
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
});

export type XmlResult = { ok: true; root: string; doc: XmlNode } | { ok: false; error: string };

/**
 * Parses one Jenkins XML file (XML 1.0 or 1.1). Refuses a DOCTYPE: Jenkins never writes one, and
 * refusing it rules out entity-expansion tricks in a file someone may have planted in the home.
 */
export function parseJenkinsXml(text: string): XmlResult {
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (/<!DOCTYPE/i.test(source)) return { ok: false, error: "a DOCTYPE is not allowed in Jenkins files" };
  const valid = XMLValidator.validate(source);
  if (valid !== true) {
    return { ok: false, error: `malformed XML at line ${valid.err.line}: ${valid.err.msg}` };
  }
  let parsed: unknown;
  try {
    parsed = parser.parse(source);
  } catch (error) {
    return { ok: false, error: `malformed XML: ${(error as Error).message}` };
  }
  const roots = typeof parsed === "object" && parsed !== null ? Object.keys(parsed) : [];
  if (roots.length !== 1) return { ok: false, error: "expected exactly one root element" };
  const root = roots[0]!;
  return { ok: true, root, doc: (parsed as Record<string, XmlNode>)[root]! };
}

function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined || typeof node === "string" || Array.isArray(node)) return undefined;
  return Object.hasOwn(node, name) ? node[name] : undefined;
}

/** The text of an element (`""` when empty), or null when it is absent or has only children. */
function text(node: XmlNode | undefined): string | null {
  if (node === undefined) return null;
  if (typeof node === "string") return node;
  if (Array.isArray(node)) return text(node[0]);
  const inner = Object.hasOwn(node, "#text") ? node["#text"] : undefined;
  return typeof inner === "string" ? inner : Object.keys(node).length === 0 ? "" : null;
}

function list(node: XmlNode | undefined): XmlNode[] {
  if (node === undefined || node === "") return [];
  return Array.isArray(node) ? node : [node];
}

function path(node: XmlNode | undefined, ...names: string[]): XmlNode | undefined {
  let current = node;
  for (const name of names) current = child(current, name);
  return current;
}

/** Every non-empty text inside a node, depth first. */
function leafTexts(node: XmlNode | undefined): string[] {
  if (node === undefined) return [];
  if (typeof node === "string") return node === "" ? [] : [node];
  if (Array.isArray(node)) return node.flatMap(leafTexts);
  return Object.values(node).flatMap(leafTexts);
}

const JENKINS_DATE =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: ?(UTC|GMT|Z|[+-]00:?00))?$/;

/**
 * Parses a `java.util.Date` as XStream writes it: `yyyy-MM-dd HH:mm:ss.S z`, in UTC
 * (`2019-03-07 10:23:45.123 UTC`). The pattern letter is a single `S`, so Java prints the milliseconds
 * as a plain number without padding: `.5` is 5 ms, not 500. Only UTC is accepted (XStream always writes
 * it); anything else is null rather than a guess.
 */
export function parseJenkinsDate(value: string): number | null {
  const match = JENKINS_DATE.exec(value.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, ms] = match.map(Number) as number[];
  const at = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, Number.isNaN(ms) ? 0 : ms!);
  const check = new Date(at);
  const valid =
    check.getUTCFullYear() === y &&
    check.getUTCMonth() === mo! - 1 &&
    check.getUTCDate() === d &&
    h! < 24 &&
    mi! < 60 &&
    s! < 60;
  return valid ? at : null;
}

// Mirrors the formats core/password.ts verifies (JENKINS.md §9): only `$2a$` bcrypt with cost 1–18,
// and FIPS PBKDF2-HMAC-SHA512. `$2x$`/`$2y$` are refused, as Jenkins refuses them.
const JBCRYPT = /^#jbcrypt:\$2a\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const PBKDF2 = /^\$PBKDF2\$HMACSHA512:(\d{1,7}):[0-9a-f]{2,256}\$[0-9a-f]{2,256}$/;

/** Why a stored Jenkins password hash cannot be imported, or null when it can be used verbatim. */
export function passwordHashProblem(hash: string): string | null {
  const bcrypt = JBCRYPT.exec(hash);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    return cost >= 1 && cost <= 18 ? null : `the bcrypt cost ${cost} is outside 1–18`;
  }
  const pbkdf2 = PBKDF2.exec(hash);
  if (pbkdf2) return Number(pbkdf2[1]) >= 1 ? null : "the PBKDF2 iteration count is zero";
  if (/^#jbcrypt:\$2[bxy]\$/.test(hash)) return "only $2a$ bcrypt hashes are accepted, as in Jenkins";
  return "the password hash is not in a supported format (#jbcrypt:$2a$… or $PBKDF2$HMACSHA512:…)";
}

/** A `<HashedToken>` entry as found, before validation against the rest of the home. */
export interface RawToken {
  uuid: string | null;
  name: string;
  creationDate: string | null;
  expirationDate: string | null;
  version: string | null;
  hash: string | null;
  /** Jenkins permission ids a scoped token is limited to; null for an unscoped token. */
  scopes: string[] | null;
}

export interface UserConfig {
  /** `<id>`; absent in homes written before Jenkins 2.150. */
  id: string | null;
  fullName: string | null;
  email: string | null;
  /** Verbatim from `<passwordHash>`; validity is checked by the caller with `passwordHashProblem`. */
  passwordHash: string | null;
  /** An encrypted `<apiToken>` (the pre-2.129 legacy token) is present. */
  hasEncryptedLegacyToken: boolean;
  tokens: RawToken[];
}

function optionalText(node: XmlNode | undefined): string | null {
  const value = text(node)?.trim();
  return value ? value : null;
}

function readToken(node: XmlNode): RawToken {
  const scopesNode = child(node, "scopes");
  const scopes = scopesNode === undefined || scopesNode === "" ? null : leafTexts(scopesNode);
  return {
    uuid: optionalText(child(node, "uuid")),
    name: text(child(node, "name")) ?? "",
    creationDate: optionalText(child(node, "creationDate")),
    expirationDate: optionalText(child(node, "expirationDate")),
    version: optionalText(path(node, "value", "version")),
    hash: optionalText(path(node, "value", "hash")),
    scopes,
  };
}

/** Parses `users/<dir>/config.xml`. */
export function parseUserConfig(xml: string): { ok: true; user: UserConfig } | { ok: false; error: string } {
  const parsed = parseJenkinsXml(xml);
  if (!parsed.ok) return parsed;
  if (parsed.root !== "user") {
    return { ok: false, error: `not a Jenkins user file (root element <${parsed.root}>)` };
  }
  const properties = child(parsed.doc, "properties");
  const apiTokenProperty = child(properties, "jenkins.security.ApiTokenProperty");
  const tokens = list(path(apiTokenProperty, "tokenStore", "tokenList", HASHED_TOKEN)).map(readToken);
  return {
    ok: true,
    user: {
      id: optionalText(child(parsed.doc, "id")),
      fullName: optionalText(child(parsed.doc, "fullName")),
      email: optionalText(path(properties, "hudson.tasks.Mailer_-UserProperty", "emailAddress")),
      passwordHash: optionalText(
        path(properties, "hudson.security.HudsonPrivateSecurityRealm_-Details", "passwordHash"),
      ),
      hasEncryptedLegacyToken: optionalText(child(apiTokenProperty, "apiToken")) !== null,
      tokens,
    },
  };
}

export interface TokenStats {
  useCount: number;
  lastUsedAt: number | null;
}

/**
 * Parses `users/<dir>/apiTokenStats.xml` into stats by token uuid. Where a uuid appears twice, the entry
 * used last (then the higher counter) wins, as in Jenkins' `ApiTokenStats.keepLastUpdatedUnique`.
 * Negative counters become 0, as Jenkins does.
 */
export function parseTokenStats(
  xml: string,
): { ok: true; stats: Map<string, TokenStats>; problems: string[] } | { ok: false; error: string } {
  const parsed = parseJenkinsXml(xml);
  if (!parsed.ok) return parsed;
  if (parsed.root !== "jenkins.security.apitoken.ApiTokenStats") {
    return { ok: false, error: `not a Jenkins token statistics file (root element <${parsed.root}>)` };
  }
  const stats = new Map<string, TokenStats>();
  const problems: string[] = [];
  for (const entry of list(path(parsed.doc, "tokenStats", SINGLE_TOKEN_STATS))) {
    const uuid = optionalText(child(entry, "tokenUuid"))?.toLowerCase();
    if (!uuid) continue;
    const counterText = optionalText(child(entry, "useCounter"));
    const counter = counterText !== null && /^-?\d{1,10}$/.test(counterText) ? Number(counterText) : 0;
    const dateText = optionalText(child(entry, "lastUseDate"));
    const lastUsedAt = dateText === null ? null : parseJenkinsDate(dateText);
    if (dateText !== null && lastUsedAt === null) {
      problems.push(`the last use date of token ${uuid} is not a date Jenkins writes; ignored`);
    }
    const candidate = { useCount: Math.max(0, Math.min(counter, 2 ** 31 - 1)), lastUsedAt };
    const current = stats.get(uuid);
    if (
      !current ||
      (candidate.lastUsedAt ?? -1) > (current.lastUsedAt ?? -1) ||
      (candidate.lastUsedAt === current.lastUsedAt && candidate.useCount > current.useCount)
    ) {
      stats.set(uuid, candidate);
    }
  }
  return { ok: true, stats, problems };
}

/** Parses `users/users.xml` (Jenkins before 2.525) into `[id, folder]` pairs, in file order. */
export function parseUserIdMap(
  xml: string,
): { ok: true; entries: [string, string][] } | { ok: false; error: string } {
  const parsed = parseJenkinsXml(xml);
  if (!parsed.ok) return parsed;
  if (parsed.root !== "hudson.model.UserIdMapper") {
    return { ok: false, error: `not a Jenkins user id map (root element <${parsed.root}>)` };
  }
  const entries: [string, string][] = [];
  for (const entry of list(path(parsed.doc, "idToDirectoryNameMap", "entry"))) {
    const strings = list(child(entry, "string")).map((s) => text(s) ?? "");
    if (strings.length !== 2 || !strings[0] || !strings[1]) {
      return { ok: false, error: "an <entry> does not hold exactly an id and a folder name" };
    }
    entries.push([strings[0], strings[1]]);
  }
  return { ok: true, entries };
}
