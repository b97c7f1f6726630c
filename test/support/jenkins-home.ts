import { hash, pbkdf2Sync } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import bcrypt from "bcryptjs";

/**
 * Writes a realistic Jenkins home (JENKINS.md §9) with users whose plain passwords and token values are
 * known, so tests can import it and then authenticate with them. Values are deterministic except the
 * bcrypt and PBKDF2 salts.
 *
 * Users, in folder order:
 * - alice: `#jbcrypt:$2a$10$` password, e-mail, four tokens (one used 5 times, one expiring in 2099, one
 *   expired in 2020, one with a blank name), statistics with a duplicate entry.
 * - bob: FIPS `$PBKDF2$` password, a legacy token (encrypted `<apiToken>` plus the version-10 store entry
 *   Jenkins 2.129+ keeps for it, whose plain value is known), one token.
 * - carol: no password, a name with XML entities; one good token and three Jenkins cannot give us:
 *   format version 12, a hash that is not hex, and a token scoped to Jenkins permissions.
 * - dave.smith: a `$2y$` bcrypt password (refused by Jenkins, so not imported) and an empty token list.
 * - mallory: a config.xml that is not well-formed XML.
 */

export type JenkinsHomeLayout = "users-xml" | "hashed-folders" | "id-folders";

export interface FixtureToken {
  uuid: string;
  name: string;
  /** What the client sends: `11` + 32 lowercase hex. */
  value: string;
  /** As stored by Jenkins: SHA-256 hex of the 32 hex after `11` (JENKINS.md §3). */
  hash: string;
  createdAt: number;
  /** End of the expiry day in UTC, or null. */
  expiresAt: number | null;
  useCount: number;
  lastUsedAt: number | null;
}

export interface FixtureUser {
  id: string;
  fullName: string;
  email: string | null;
  folder: string;
  /** The plain password, when the user has one that should work after import. */
  password: string | null;
  /** The stored hash as written to config.xml (null when none). */
  passwordHash: string | null;
  /** Tokens that should be imported and keep working. */
  tokens: FixtureToken[];
  /** Names of tokens written but not importable (bad version, bad hash, scoped). */
  skippedTokenNames: string[];
  hasLegacyToken: boolean;
  /** The legacy token's plain 32-hex value (its version-10 store entry), when there is one. */
  legacyToken: FixtureToken | null;
}

export interface JenkinsHomeFixture {
  home: string;
  layout: JenkinsHomeLayout;
  /** Users that should be imported, in the order the importer returns them. */
  users: FixtureUser[];
  /** The user whose config.xml is malformed. */
  malformed: { id: string; folder: string };
  /** Plain passwords by user id (only users whose password should work after import). */
  passwords: Record<string, string>;
  /** Plain token values by user id (importable tokens only, no legacy ones). */
  tokenValues: Record<string, string[]>;
}

const DAY = 24 * 3600 * 1000;

function sha256(text: string): string {
  return hash("sha256", text, "hex");
}

function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

function fakeUuid(seed: string): string {
  const h = sha256(`uuid:${seed}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** XStream's `yyyy-MM-dd HH:mm:ss.S z` in UTC: milliseconds without padding (5 ms → `.5`). */
function jenkinsDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${new Date(ms).getUTCMilliseconds()} UTC`;
}

let cachedHashes: { bcrypt: string; pbkdf2: string; bcrypt2y: string } | null = null;

/** Slow hashes are computed once per process. */
function passwordHashes() {
  if (cachedHashes) return cachedHashes;
  // bcryptjs writes `$2b$`; Jenkins (jBCrypt) accepts only `$2a$`, which is the same algorithm for
  // passwords shorter than 255 bytes, so the prefix is swapped.
  const b = bcrypt.hashSync(PASSWORDS.alice, 10);
  const bcryptHash = `#jbcrypt:$2a$${b.slice(4)}`;
  const salt = Buffer.from("0123456789abcdef0123456789abcdef", "hex");
  const derived = pbkdf2Sync(PASSWORDS.bob, salt, 210_000, 64, "sha512");
  const pbkdf2 = `$PBKDF2$HMACSHA512:210000:${salt.toString("hex")}$${derived.toString("hex")}`;
  const bcrypt2y = `#jbcrypt:$2y$${bcrypt.hashSync(PASSWORDS.dave, 4).slice(4)}`;
  cachedHashes = { bcrypt: bcryptHash, pbkdf2, bcrypt2y };
  return cachedHashes;
}

const PASSWORDS = { alice: "correct horse battery staple", bob: "b0b's FIPS pässword", dave: "dave-2y" };

interface TokenSpec {
  name: string;
  createdAt: number;
  expirationDate?: string;
  version?: string;
  hash?: string;
  scopes?: string[];
  stats?: { useCount: number; lastUsedAt: number | null };
}

function makeToken(userId: string, spec: TokenSpec): FixtureToken {
  const secret = sha256(`secret:${userId}:${spec.name}`).slice(0, 32);
  return {
    uuid: fakeUuid(`${userId}:${spec.name}`),
    name: spec.name,
    value: `11${secret}`,
    hash: spec.hash ?? sha256(secret),
    createdAt: spec.createdAt,
    expiresAt:
      spec.expirationDate === undefined ? null : Date.parse(`${spec.expirationDate}T00:00:00Z`) + DAY,
    useCount: spec.stats?.useCount ?? 0,
    lastUsedAt: spec.stats?.lastUsedAt ?? null,
  };
}

function tokenXml(token: FixtureToken, spec: TokenSpec, creationDate: string | null = null): string {
  const lines = [
    "          <jenkins.security.apitoken.ApiTokenStore_-HashedToken>",
    `            <uuid>${token.uuid}</uuid>`,
    `            <name>${escapeXml(spec.name)}</name>`,
  ];
  if (creationDate !== "")
    lines.push(`            <creationDate>${creationDate ?? jenkinsDate(spec.createdAt)}</creationDate>`);
  if (spec.expirationDate) lines.push(`            <expirationDate>${spec.expirationDate}</expirationDate>`);
  lines.push(
    "            <value>",
    `              <version>${spec.version ?? "11"}</version>`,
    `              <hash>${token.hash}</hash>`,
    "            </value>",
  );
  if (spec.scopes) {
    lines.push(
      '            <scopes class="java.util.Collections$UnmodifiableSet">',
      '              <c class="linked-hash-set">',
      ...spec.scopes.map((s) => `                <string>${s}</string>`),
      "              </c>",
      "            </scopes>",
    );
  }
  lines.push("          </jenkins.security.apitoken.ApiTokenStore_-HashedToken>");
  return lines.join("\n");
}

interface UserSpec {
  id: string;
  fullName: string;
  email: string | null;
  passwordHash: string | null;
  apiToken: string | null;
  tokensXml: string[];
}

function configXml(user: UserSpec, writeId: boolean): string {
  const tokenList = user.tokensXml.length
    ? ["        <tokenList>", ...user.tokensXml, "        </tokenList>"].join("\n")
    : "        <tokenList/>";
  const properties = [
    "    <jenkins.security.ApiTokenProperty>",
    ...(user.apiToken ? [`      <apiToken>${user.apiToken}</apiToken>`] : []),
    "      <tokenStore>",
    tokenList,
    "      </tokenStore>",
    "    </jenkins.security.ApiTokenProperty>",
    '    <com.cloudbees.plugins.credentials.UserCredentialsProvider_-UserCredentialsProperty plugin="credentials@1415.v831096eb_5534">',
    '      <domainCredentialsMap class="hudson.util.CopyOnWriteMap$Hash"/>',
    "    </com.cloudbees.plugins.credentials.UserCredentialsProvider_-UserCredentialsProperty>",
    '    <hudson.tasks.Mailer_-UserProperty plugin="mailer@489.vd4b_25144138f">',
    user.email
      ? `      <emailAddress>${escapeXml(user.email)}</emailAddress>`
      : "      <emailAddress></emailAddress>",
    "    </hudson.tasks.Mailer_-UserProperty>",
    "    <jenkins.security.seed.UserSeedProperty>",
    `      <seed>${sha256(`seed:${user.id}`).slice(0, 16)}</seed>`,
    "    </jenkins.security.seed.UserSeedProperty>",
    "    <hudson.search.UserSearchProperty>",
    "      <insensitiveSearch>true</insensitiveSearch>",
    "    </hudson.search.UserSearchProperty>",
  ];
  if (user.passwordHash) {
    properties.push(
      "    <hudson.security.HudsonPrivateSecurityRealm_-Details>",
      `      <passwordHash>${escapeXml(user.passwordHash)}</passwordHash>`,
      "    </hudson.security.HudsonPrivateSecurityRealm_-Details>",
    );
  }
  properties.push(
    "    <jenkins.model.experimentalflags.UserExperimentalFlagsProperty>",
    '      <flags class="tree-map"/>',
    "    </jenkins.model.experimentalflags.UserExperimentalFlagsProperty>",
  );
  return [
    "<?xml version='1.1' encoding='UTF-8'?>",
    "<user>",
    "  <version>10</version>",
    ...(writeId ? [`  <id>${escapeXml(user.id)}</id>`] : []),
    `  <fullName>${escapeXml(user.fullName)}</fullName>`,
    "  <description></description>",
    "  <properties>",
    ...properties,
    "  </properties>",
    "</user>",
    "",
  ].join("\n");
}

function statsXml(entries: { uuid: string; useCount: number; lastUseDate: string | null }[]): string {
  return [
    "<?xml version='1.1' encoding='UTF-8'?>",
    "<jenkins.security.apitoken.ApiTokenStats>",
    "  <tokenStats>",
    ...entries.map((e) =>
      [
        "    <jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats>",
        `      <tokenUuid>${e.uuid}</tokenUuid>`,
        ...(e.lastUseDate ? [`      <lastUseDate>${e.lastUseDate}</lastUseDate>`] : []),
        `      <useCounter>${e.useCount}</useCounter>`,
        "    </jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats>",
      ].join("\n"),
    ),
    "  </tokenStats>",
    "</jenkins.security.apitoken.ApiTokenStats>",
    "",
  ].join("\n");
}

function folderFor(id: string, layout: JenkinsHomeLayout): string {
  if (layout === "id-folders") return id;
  const prefix = id.replace(/[^A-Za-z0-9]/g, "").slice(0, 24);
  if (layout === "hashed-folders") return `${prefix}_${sha256(`folder:${id}`)}`;
  // users.xml era: `<id>_<random long>`.
  return `${prefix}_${BigInt(`0x${sha256(`folder:${id}`).slice(0, 15)}`).toString()}`;
}

/**
 * Writes the fixture home into `dir` (which should be empty) and describes what an import should find.
 *
 * @example
 * const fixture = await buildJenkinsHome(tmp, { layout: "users-xml" });
 * const alice = fixture.users.find((u) => u.id === "alice")!;
 * // alice.password, alice.tokens[0].value …
 */
export async function buildJenkinsHome(
  dir: string,
  options: { layout: JenkinsHomeLayout },
): Promise<JenkinsHomeFixture> {
  const { layout } = options;
  const hashes = passwordHashes();
  const t0 = Date.UTC(2024, 2, 7, 10, 23, 45, 123);
  const users: FixtureUser[] = [];
  const specs: { user: UserSpec; stats: string | null; folder: string }[] = [];

  // alice
  {
    const id = "alice";
    const lastUse = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
    const ci: TokenSpec = { name: "ci", createdAt: t0, stats: { useCount: 5, lastUsedAt: lastUse } };
    const laptop: TokenSpec = {
      name: "laptop <work> & home",
      createdAt: t0 + DAY + 5,
      expirationDate: "2099-12-31",
      stats: { useCount: 2, lastUsedAt: Date.UTC(2025, 5, 1, 12, 0, 0, 450) },
    };
    const expired: TokenSpec = { name: "expired", createdAt: t0 + 2 * DAY, expirationDate: "2020-01-01" };
    const blank: TokenSpec = { name: "", createdAt: t0 + 3 * DAY + 50 };
    const tokens = [ci, laptop, expired, blank].map((s) => makeToken(id, s));
    const folder = folderFor(id, layout);
    const stats = statsXml([
      { uuid: tokens[0]!.uuid, useCount: 5, lastUseDate: jenkinsDate(lastUse) },
      // Jenkins keeps the most recently used of duplicate entries.
      { uuid: tokens[1]!.uuid, useCount: 9, lastUseDate: jenkinsDate(Date.UTC(2024, 0, 1)) },
      { uuid: tokens[1]!.uuid, useCount: 2, lastUseDate: jenkinsDate(laptop.stats!.lastUsedAt!) },
      // Stats of a token revoked since: ignored.
      { uuid: fakeUuid("revoked"), useCount: 3, lastUseDate: jenkinsDate(lastUse) },
    ]);
    specs.push({
      user: {
        id,
        fullName: "Alice Adams",
        email: "alice@example.com",
        passwordHash: hashes.bcrypt,
        apiToken: null,
        tokensXml: [ci, laptop, expired, blank].map((s, i) => tokenXml(tokens[i]!, s)),
      },
      stats,
      folder,
    });
    tokens[3]!.name = `Token created on ${new Date(blank.createdAt).toISOString().replace("Z", "+00:00")}`;
    users.push({
      id,
      fullName: "Alice Adams",
      email: "alice@example.com",
      folder,
      password: PASSWORDS.alice,
      passwordHash: hashes.bcrypt,
      tokens,
      skippedTokenNames: [],
      hasLegacyToken: false,
      legacyToken: null,
    });
  }

  // bob
  {
    const id = "bob";
    const deploy: TokenSpec = { name: "deploy", createdAt: t0 + 10 * DAY };
    const token = makeToken(id, deploy);
    // The legacy value is the 32-hex string the user types; Jenkins stores SHA-256 of all of it.
    const legacyValue = sha256("legacy:bob").slice(0, 32);
    const legacySpec: TokenSpec = {
      name: "Legacy Token",
      createdAt: 0,
      version: "10",
      hash: sha256(legacyValue),
    };
    const legacy = makeToken(id, legacySpec);
    legacy.value = legacyValue;
    const folder = folderFor(id, layout);
    specs.push({
      user: {
        id,
        fullName: "Bob Brown",
        email: "bob@example.com",
        passwordHash: hashes.pbkdf2,
        apiToken: "{AQAAABAAAAAwQ2vU8Gc0rFm0m6T2a8J3Yc1k3nqv7WcWl0Ck0oYpJk9Xe1z6s9m1yB2mG8c0x1QxTQ==}",
        // Jenkins leaves the creation date of a migrated legacy token empty.
        tokensXml: [tokenXml(legacy, legacySpec, ""), tokenXml(token, deploy)],
      },
      stats: null,
      folder,
    });
    users.push({
      id,
      fullName: "Bob Brown",
      email: "bob@example.com",
      folder,
      password: PASSWORDS.bob,
      passwordHash: hashes.pbkdf2,
      tokens: [token],
      skippedTokenNames: [],
      hasLegacyToken: true,
      legacyToken: legacy,
    });
  }

  // carol
  {
    const id = "carol";
    const good: TokenSpec = { name: "good", createdAt: t0 + 20 * DAY };
    const future: TokenSpec = { name: "future-format", createdAt: t0, version: "12" };
    const badHash: TokenSpec = { name: "bad-hash", createdAt: t0, hash: "zz".repeat(32) };
    const scoped: TokenSpec = { name: "scoped", createdAt: t0, scopes: ["hudson.model.Hudson.Read"] };
    const specsForCarol = [good, future, badHash, scoped];
    const tokens = specsForCarol.map((s) => makeToken(id, s));
    const folder = folderFor(id, layout);
    specs.push({
      user: {
        id,
        fullName: "Carol & Co. Ünïcode",
        email: null,
        passwordHash: null,
        apiToken: null,
        tokensXml: specsForCarol.map((s, i) => tokenXml(tokens[i]!, s)),
      },
      stats: statsXml([{ uuid: tokens[0]!.uuid, useCount: 0, lastUseDate: null }]),
      folder,
    });
    users.push({
      id,
      fullName: "Carol & Co. Ünïcode",
      email: null,
      folder,
      password: null,
      passwordHash: null,
      tokens: [tokens[0]!],
      skippedTokenNames: ["future-format", "bad-hash", "scoped"],
      hasLegacyToken: false,
      legacyToken: null,
    });
  }

  // dave.smith
  {
    const id = "dave.smith";
    const folder = folderFor(id, layout);
    specs.push({
      user: {
        id,
        fullName: "Dave Smith",
        email: "dave@example.com",
        passwordHash: hashes.bcrypt2y,
        apiToken: null,
        tokensXml: [],
      },
      stats: null,
      folder,
    });
    users.push({
      id,
      fullName: "Dave Smith",
      email: "dave@example.com",
      folder,
      password: null,
      passwordHash: hashes.bcrypt2y,
      tokens: [],
      skippedTokenNames: [],
      hasLegacyToken: false,
      legacyToken: null,
    });
  }

  const malformed = { id: "mallory", folder: folderFor("mallory", layout) };

  const usersDir = join(dir, "users");
  await mkdir(usersDir, { recursive: true });
  for (const { user, stats, folder } of specs) {
    await mkdir(join(usersDir, folder), { recursive: true });
    await writeFile(join(usersDir, folder, "config.xml"), configXml(user, layout !== "id-folders"));
    if (stats) await writeFile(join(usersDir, folder, "apiTokenStats.xml"), stats);
  }
  await mkdir(join(usersDir, malformed.folder), { recursive: true });
  await writeFile(
    join(usersDir, malformed.folder, "config.xml"),
    "<?xml version='1.1' encoding='UTF-8'?>\n<user>\n  <id>mallory</id>\n  <fullName>Mallory</fullName>\n  <properties>\n</user>\n",
  );
  if (layout === "users-xml") {
    const entries = [
      ...specs.map((s) => [s.user.id, s.folder] as const),
      [malformed.id, malformed.folder] as const,
    ];
    await writeFile(
      join(usersDir, "users.xml"),
      [
        "<?xml version='1.1' encoding='UTF-8'?>",
        "<hudson.model.UserIdMapper>",
        "  <version>1</version>",
        '  <idToDirectoryNameMap class="concurrent-hash-map">',
        ...entries.map(([id, folder]) =>
          [
            "    <entry>",
            `      <string>${escapeXml(id)}</string>`,
            `      <string>${folder}</string>`,
            "    </entry>",
          ].join("\n"),
        ),
        "  </idToDirectoryNameMap>",
        "</hudson.model.UserIdMapper>",
        "",
      ].join("\n"),
    );
  }
  // Jenkins keeps other files in users/ too; the importer must not mind them.
  await writeFile(join(usersDir, ".DS_Store"), "");

  // The importer returns users in folder order (users.xml order with users.xml).
  const ordered = layout === "users-xml" ? users : [...users].sort((a, b) => (a.folder < b.folder ? -1 : 1));
  return {
    home: dir,
    layout,
    users: ordered,
    malformed,
    passwords: Object.fromEntries(users.filter((u) => u.password).map((u) => [u.id, u.password!])),
    tokenValues: Object.fromEntries(users.map((u) => [u.id, u.tokens.map((t) => t.value)])),
  };
}
