import type { Role } from "../core/permissions.js";
import type { TokenFormat } from "../core/token-format.js";
import {
  type ImportedToken,
  type ImportedUser,
  type ImportProblem,
  readJenkinsHome,
} from "../import/jenkins-home.js";
import type { TokenRecord, UserPatch, UserRecord } from "../store/store.js";
import { type Actor, auditEvent, type Deps } from "./context.js";

/**
 * `steward import jenkins`: brings the users and API tokens of a Jenkins home into Steward so that
 * every password and token value keeps working unchanged (SPEC §6). The reading is done by
 * import/jenkins-home.ts; this file decides what to write, and writes it through the Store, each change
 * with its audit event.
 *
 * Re-running the import is safe and changes nothing that is already there:
 * - A new user is created with Jenkins' id, full name, e-mail and password hash verbatim (`#jbcrypt:` or
 *   `$PBKDF2$`; re-hashed to scrypt at the next successful login) and the role `user`. Jenkins'
 *   authorization strategy is not read: admins are named with `admins` (`--admin`).
 * - An existing user (same id, case-insensitive — it may be a user made in Steward) keeps its roles,
 *   kind, sessions and tokens. Its full name is updated when Jenkins' differs, its e-mail when Jenkins has
 *   a valid one that differs. Its password is replaced only while Steward still holds a Jenkins hash,
 *   i.e. one no Steward login or password change has touched since an earlier import: a password set,
 *   changed or used in Steward is never overwritten, and the import never removes a password.
 * - A token whose uuid or value is already in Steward is left as it is — revoked tokens stay revoked, and
 *   usage statistics are not copied again (Steward has been counting since).
 */

export interface JenkinsImportOptions {
  /** Decide and report, but write nothing. */
  dryRun?: boolean;
  /** Ids of imported users to give the `admin` role. */
  admins?: readonly string[];
  onProgress?: (progress: { phase: "read" | "write"; done: number; total: number }) => void;
}

export type UserOutcome = "created" | "updated" | "unchanged" | "failed";
export type PasswordOutcome = "imported" | "updated" | "unchanged" | "kept" | "none";
export type TokenOutcome = "imported" | "unchanged" | "skipped" | "failed";

export interface TokenImportResult {
  id: string;
  name: string;
  format: TokenFormat;
  outcome: TokenOutcome;
  /** Why a token was skipped or failed, or that an unchanged one was revoked in Steward. */
  reason?: string;
}

export interface UserImportResult {
  id: string;
  /** The user's folder under `users/` in the Jenkins home. */
  folder: string;
  outcome: UserOutcome;
  /** Fields written on an existing user. */
  changed: string[];
  /**
   * `imported`: new user, Jenkins' hash; `updated`: replaced an earlier import's Jenkins hash;
   * `unchanged`: the same hash; `kept`: Steward's own password left alone; `none`: no usable password.
   */
  password: PasswordOutcome;
  tokens: TokenImportResult[];
  reason?: string;
}

export interface JenkinsImportReport {
  home: string;
  dryRun: boolean;
  summary: {
    users: Record<UserOutcome, number> & { read: number };
    tokens: Record<TokenOutcome, number> & { read: number };
    /** Legacy tokens whose hash could be imported (the version-10 store entry). */
    legacyTokens: number;
    /** Users whose legacy token is only the encrypted `<apiToken>`: it needs Jenkins' master key, so it is not imported. */
    legacyTokensNotImported: number;
  };
  users: UserImportResult[];
  /** Problems in the Jenkins home, by file: what was skipped or altered, and why. */
  problems: ImportProblem[];
  /** Things the operator should know that are not about one file. */
  notes: string[];
}

const SOURCE = "jenkins";
const MAX_FULL_NAME = 200;
/** As users.ts accepts; a Jenkins address Steward would refuse is left out rather than stored. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

const isJenkinsHash = (hash: string | null): boolean =>
  hash !== null && (hash.startsWith("#jbcrypt:") || hash.startsWith("$PBKDF2$"));

function passwordKind(hash: string | null): string | null {
  if (hash === null) return null;
  return hash.startsWith("#jbcrypt:") ? "bcrypt" : "pbkdf2";
}

/**
 * Imports the users of a Jenkins home. Throws only when the home cannot be read at all; everything else
 * (a malformed file, an unusable token, a failed write) is in the report.
 *
 * @example
 * const report = await importJenkinsHome(services.deps, CLI_ACTOR, "/var/lib/jenkins", { dryRun: true });
 * console.log(report.summary.users.created, report.problems);
 */
export async function importJenkinsHome(
  deps: Deps,
  actor: Actor,
  home: string,
  options: JenkinsImportOptions = {},
): Promise<JenkinsImportReport> {
  const { users, problems } = await readJenkinsHome(home, (done, total) =>
    options.onProgress?.({ phase: "read", done, total }),
  );
  const importer = new Importer(deps, actor, options, problems);
  const admins = new Set((options.admins ?? []).map((id) => id.toLowerCase()));
  const results: UserImportResult[] = [];
  options.onProgress?.({ phase: "write", done: 0, total: users.length });
  for (const [index, user] of users.entries()) {
    results.push(await importer.user(user, admins.has(user.id.toLowerCase())));
    options.onProgress?.({ phase: "write", done: index + 1, total: users.length });
  }

  const notes: string[] = [];
  for (const id of options.admins ?? []) {
    if (!users.some((u) => u.id.toLowerCase() === id.toLowerCase())) {
      notes.push(`--admin ${id}: no such user in this Jenkins home; no role was given.`);
    }
  }
  const adminCount = (await deps.store.listUsers({ limit: 100_000 })).filter(
    (u) => u.roles.includes("admin") && !u.disabled && u.kind === "user",
  ).length;
  const granted = results.some((r) => admins.has(r.id.toLowerCase()) && r.outcome !== "failed");
  if (adminCount === 0 && !granted) {
    notes.push(
      "No Steward user has the admin role. Jenkins' permissions are not imported: re-run with --admin <id>, or add an admin with `steward user add <id> --admin --password-stdin`.",
    );
  }
  const legacyTokensNotImported = users.filter((u) => u.hasLegacyToken && u.legacyToken === null).length;
  if (legacyTokensNotImported > 0) {
    notes.push(
      `${legacyTokensNotImported} user(s) have a legacy API token stored only encrypted with Jenkins' master key; it was not imported. They need a new token.`,
    );
  }
  const legacyTokens = users.filter((u) => u.legacyToken !== null).length;
  if (legacyTokens > 0) {
    notes.push(
      `${legacyTokens} legacy token(s) were imported and keep working; admins see them flagged until their owners replace them.`,
    );
  }

  const count = <K extends string>(keys: readonly K[], values: K[]) =>
    Object.fromEntries(keys.map((k) => [k, values.filter((v) => v === k).length])) as Record<K, number>;
  const tokenResults = results.flatMap((r) => r.tokens);
  return {
    home,
    dryRun: options.dryRun ?? false,
    summary: {
      users: {
        read: users.length,
        ...count(
          ["created", "updated", "unchanged", "failed"] as const,
          results.map((r) => r.outcome),
        ),
      },
      tokens: {
        read: tokenResults.length,
        ...count(
          ["imported", "unchanged", "skipped", "failed"] as const,
          tokenResults.map((t) => t.outcome),
        ),
      },
      legacyTokens,
      legacyTokensNotImported,
    },
    users: results,
    problems,
    notes,
  };
}

class Importer {
  constructor(
    private readonly deps: Deps,
    private readonly actor: Actor,
    private readonly options: JenkinsImportOptions,
    private readonly problems: ImportProblem[],
  ) {}

  private get dryRun(): boolean {
    return this.options.dryRun ?? false;
  }

  private problem(user: ImportedUser, message: string): void {
    this.problems.push({ file: `users/${user.folder}/config.xml`, message });
  }

  async user(source: ImportedUser, admin: boolean): Promise<UserImportResult> {
    const result: UserImportResult = {
      id: source.id,
      folder: source.folder,
      outcome: "unchanged",
      changed: [],
      password: "none",
      tokens: [],
    };
    let owner: string;
    try {
      const existing = await this.deps.store.getUser(source.id);
      owner = existing
        ? await this.update(existing, source, admin, result)
        : await this.create(source, admin, result);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.problem(
        source,
        `user ${source.id} could not be written (${message}); its tokens were not imported`,
      );
      return { ...result, outcome: "failed", reason: message };
    }
    const tokens = source.legacyToken ? [...source.tokens, source.legacyToken] : source.tokens;
    for (const token of tokens) {
      const format: TokenFormat = token === source.legacyToken ? "legacy" : "jenkins";
      result.tokens.push(await this.token(source, owner, token, format));
    }
    return result;
  }

  private fullName(source: ImportedUser): string {
    let name = source.fullName.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    if ([...name].length > MAX_FULL_NAME) {
      name = [...name].slice(0, MAX_FULL_NAME).join("").trim();
      this.problem(source, `the full name was shortened to ${MAX_FULL_NAME} characters`);
    }
    return name === "" ? source.id : name;
  }

  private email(source: ImportedUser): string | null {
    if (source.email === null || source.email.trim() === "") return null;
    const email = source.email.trim();
    if (EMAIL.test(email)) return email;
    this.problem(source, `e-mail address ${JSON.stringify(email.slice(0, 100))} is not valid; not imported`);
    return null;
  }

  /** Creates the user; returns its id. */
  private async create(source: ImportedUser, admin: boolean, result: UserImportResult): Promise<string> {
    const now = this.deps.clock.now();
    const roles: Role[] = admin ? ["admin", "user"] : ["user"];
    const user: UserRecord = {
      id: source.id,
      fullName: this.fullName(source),
      email: this.email(source),
      passwordHash: source.passwordHash,
      roles,
      kind: "user",
      ownerId: null,
      disabled: false,
      mustChangePassword: false,
      createdAt: now,
      updatedAt: now,
    };
    result.outcome = "created";
    result.password = source.passwordHash === null ? "none" : "imported";
    if (!this.dryRun) {
      await this.deps.store.createUser(
        user,
        auditEvent(
          this.deps,
          this.actor,
          "user.imported",
          { userId: user.id },
          { source: SOURCE, folder: source.folder, password: passwordKind(source.passwordHash), roles },
        ),
      );
    }
    return user.id;
  }

  /** Updates what changed (see the policy at the top of this file); returns the existing user's id. */
  private async update(
    existing: UserRecord,
    source: ImportedUser,
    admin: boolean,
    result: UserImportResult,
  ): Promise<string> {
    const patch: UserPatch = {};
    const fullName = this.fullName(source);
    if (fullName !== existing.fullName) patch.fullName = fullName;
    const email = this.email(source);
    if (email !== null && email !== existing.email) patch.email = email;
    if (admin && !existing.roles.includes("admin")) patch.roles = ["admin", ...existing.roles];

    if (source.passwordHash === null) {
      result.password = existing.passwordHash === null ? "none" : "kept";
    } else if (existing.kind !== "user") {
      // A service account never gets a password, whatever Jenkins had.
      result.password = "none";
      this.problem(
        source,
        `${existing.id} is a service account in Steward; its Jenkins password was not imported`,
      );
    } else if (existing.passwordHash === source.passwordHash) {
      result.password = "unchanged";
    } else if (existing.passwordHash === null || isJenkinsHash(existing.passwordHash)) {
      patch.passwordHash = source.passwordHash;
      result.password = "updated";
    } else {
      result.password = "kept";
    }

    result.changed = Object.keys(patch);
    if (result.changed.length === 0) return existing.id;
    result.outcome = "updated";
    if (!this.dryRun) {
      await this.deps.store.updateUser(
        existing.id,
        patch,
        auditEvent(
          this.deps,
          this.actor,
          "user.import.updated",
          { userId: existing.id },
          {
            source: SOURCE,
            folder: source.folder,
            fields: result.changed,
            roles: patch.roles ?? existing.roles,
          },
        ),
        this.deps.clock.now(),
      );
    }
    return existing.id;
  }

  private async token(
    source: ImportedUser,
    ownerId: string,
    token: ImportedToken,
    format: TokenFormat,
  ): Promise<TokenImportResult> {
    const base = { id: token.uuid, name: token.name, format };
    try {
      const sameValue = await this.deps.store.findTokenByHash(token.hash);
      if (sameValue) {
        if (sameValue.token.id === token.uuid && sameValue.owner.id.toLowerCase() === ownerId.toLowerCase()) {
          return sameValue.token.revokedAt === null
            ? { ...base, outcome: "unchanged" }
            : { ...base, outcome: "unchanged", reason: "revoked in Steward; not restored" };
        }
        const reason = `the same value is already token ${sameValue.token.id} of ${sameValue.owner.id} in Steward`;
        this.problem(source, `token ${JSON.stringify(token.name)} skipped: ${reason}`);
        return { ...base, outcome: "skipped", reason };
      }
      if (await this.deps.store.getToken(token.uuid)) {
        const reason = `its uuid ${token.uuid} is already used by another Steward token`;
        this.problem(source, `token ${JSON.stringify(token.name)} skipped: ${reason}`);
        return { ...base, outcome: "skipped", reason };
      }
      const record: TokenRecord = {
        id: token.uuid,
        userId: ownerId,
        name: token.name,
        hash: token.hash,
        format,
        createdAt: token.createdAt,
        expiresAt: token.expiresAt,
        revokedAt: null,
        lastUsedAt: token.lastUsedAt,
        useCount: token.useCount,
        scopes: null,
        allowedCidrs: null,
        graceUntil: null,
        replacedBy: null,
      };
      if (!this.dryRun) {
        await this.deps.store.createToken(
          record,
          auditEvent(
            this.deps,
            this.actor,
            "token.imported",
            { userId: ownerId, tokenId: record.id },
            {
              source: SOURCE,
              name: record.name,
              format,
              createdAt: record.createdAt,
              expiresAt: record.expiresAt,
              useCount: record.useCount,
              lastUsedAt: record.lastUsedAt,
            },
          ),
        );
      }
      return { ...base, outcome: "imported" };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.problem(source, `token ${JSON.stringify(token.name)} could not be written (${message})`);
      return { ...base, outcome: "failed", reason: message };
    }
  }
}
