import { invalid, notFound, StewardError } from "../core/errors.js";
import { assertUserId, hasControlCharacters } from "../core/names.js";
import { isRole, type Role, type UserKind } from "../core/permissions.js";
import type { UserPatch, UserRecord } from "../store/store.js";
import { type Actor, auditEvent, type Deps } from "./context.js";

export interface NewUser {
  id: string;
  fullName?: string | null;
  email?: string | null;
  password?: string | null;
  roles?: readonly string[];
  kind?: UserKind;
  ownerId?: string | null;
  mustChangePassword?: boolean;
}

const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function assertPassword(password: unknown): string {
  if (
    typeof password !== "string" ||
    password.length < MIN_PASSWORD_LENGTH ||
    password.length > MAX_PASSWORD_LENGTH
  ) {
    throw invalid(`A password is ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`, {
      field: "password",
    });
  }
  return password;
}

function parseRoles(roles: readonly string[] | undefined): Role[] {
  if (roles === undefined) return ["user"];
  if (!Array.isArray(roles)) throw invalid("roles must be a list.", { field: "roles" });
  const parsed: Role[] = [];
  for (const role of roles) {
    if (typeof role !== "string" || !isRole(role))
      throw invalid(`Unknown role "${String(role)}".`, { field: "roles" });
    if (!parsed.includes(role)) parsed.push(role);
  }
  if (!parsed.includes("user")) parsed.push("user");
  return parsed;
}

function parseEmail(email: string | null | undefined): string | null {
  if (email == null || email === "") return null;
  if (typeof email !== "string" || !EMAIL.test(email))
    throw invalid("That is not an email address.", { field: "email" });
  return email;
}

function parseFullName(name: string | null | undefined, fallback: string): string {
  if (name == null || name.trim() === "") return fallback;
  if (typeof name !== "string" || [...name].length > 200)
    throw invalid("A full name is at most 200 characters.", { field: "fullName" });
  if (hasControlCharacters(name))
    throw invalid("A full name cannot contain control characters (tabs, line breaks…).", {
      field: "fullName",
    });
  return name.trim();
}

/** User and service-account management shared by the REST API, the UI and the CLI. */
export class UserService {
  constructor(private readonly deps: Deps) {}

  async get(id: string): Promise<UserRecord> {
    const user = await this.deps.store.getUser(id);
    if (!user) throw notFound(`User "${id.slice(0, 64)}"`);
    return user;
  }

  async create(actor: Actor, input: NewUser): Promise<UserRecord> {
    const { deps } = this;
    const id = assertUserId(typeof input.id === "string" ? input.id : "");
    const kind: UserKind = input.kind ?? "user";
    if (kind !== "user" && kind !== "service")
      throw invalid('kind must be "user" or "service".', { field: "kind" });
    if (kind === "service" && input.password) {
      throw invalid("A service account has no password: it cannot sign in, it only owns tokens.", {
        field: "password",
      });
    }
    let ownerId: string | null = null;
    if (input.ownerId != null && input.ownerId !== "") {
      if (kind !== "service") throw invalid("Only a service account has an owner.", { field: "ownerId" });
      const owner = await deps.store.getUser(String(input.ownerId));
      if (!owner || owner.kind !== "user")
        throw invalid("The owner must be an existing (human) user.", { field: "ownerId" });
      ownerId = owner.id;
    }
    if (await deps.store.getUser(id))
      throw new StewardError("conflict", `A user with the id "${id}" already exists.`);
    const now = deps.clock.now();
    const user: UserRecord = {
      id,
      fullName: parseFullName(input.fullName, id),
      email: parseEmail(input.email),
      passwordHash: input.password ? await deps.passwords.hash(assertPassword(input.password)) : null,
      roles: parseRoles(input.roles),
      kind,
      ownerId,
      disabled: false,
      mustChangePassword: input.mustChangePassword ?? false,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await deps.store.createUser(
        user,
        auditEvent(deps, actor, "user.created", { userId: id }, { kind, roles: user.roles }),
      );
    } catch (error) {
      if (await deps.store.getUser(id))
        throw new StewardError("conflict", `A user with the id "${id}" already exists.`);
      throw error;
    }
    return user;
  }

  async update(
    actor: Actor,
    id: string,
    input: {
      fullName?: string | null;
      email?: string | null;
      roles?: readonly string[];
      disabled?: boolean;
      ownerId?: string | null;
    },
  ): Promise<UserRecord> {
    const { deps } = this;
    const current = await this.get(id);
    const patch: UserPatch = {};
    if (input.fullName !== undefined) patch.fullName = parseFullName(input.fullName, current.id);
    if (input.email !== undefined) patch.email = parseEmail(input.email);
    if (input.roles !== undefined) patch.roles = parseRoles(input.roles);
    if (input.disabled !== undefined) {
      if (typeof input.disabled !== "boolean")
        throw invalid("disabled must be true or false.", { field: "disabled" });
      patch.disabled = input.disabled;
    }
    if (input.ownerId !== undefined) {
      if (current.kind !== "service")
        throw invalid("Only a service account has an owner.", { field: "ownerId" });
      const owner = input.ownerId ? await deps.store.getUser(input.ownerId) : null;
      if (input.ownerId && (!owner || owner.kind !== "user"))
        throw invalid("The owner must be an existing (human) user.", { field: "ownerId" });
      patch.ownerId = owner?.id ?? null;
    }
    const demotingSelf = current.id.toLowerCase() === actor.principal.userId.toLowerCase();
    if (demotingSelf && ((patch.roles && !patch.roles.includes("admin")) || patch.disabled)) {
      await this.assertAnotherAdmin(current.id);
    }
    const action = patch.roles
      ? "user.roles.changed"
      : patch.disabled !== undefined
        ? patch.disabled
          ? "user.disabled"
          : "user.enabled"
        : "user.updated";
    const updated = await deps.store.updateUser(
      current.id,
      patch,
      auditEvent(
        deps,
        actor,
        action,
        { userId: current.id },
        { fields: Object.keys(patch), roles: patch.roles ?? current.roles },
      ),
      deps.clock.now(),
    );
    if (!updated) throw notFound("User");
    return updated;
  }

  async setPassword(actor: Actor, id: string, password: string): Promise<void> {
    const { deps } = this;
    const user = await this.get(id);
    if (user.kind === "service") throw invalid("A service account has no password.", { field: "password" });
    const hash = await deps.passwords.hash(assertPassword(password));
    await deps.store.updateUser(
      user.id,
      { passwordHash: hash, mustChangePassword: false },
      auditEvent(deps, actor, "user.password.changed", { userId: user.id }),
      deps.clock.now(),
    );
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const user = await this.get(id);
    if (user.roles.includes("admin")) await this.assertAnotherAdmin(user.id);
    const deleted = await this.deps.store.deleteUser(
      user.id,
      auditEvent(this.deps, actor, "user.deleted", { userId: user.id }),
    );
    if (!deleted) throw notFound("User");
  }

  /** The service accounts whose human owner is `ownerId`, in id order, at most `limit` (an indexed read). */
  async managedBy(ownerId: string, limit: number): Promise<UserRecord[]> {
    const owner = await this.deps.store.getUser(ownerId);
    if (!owner) return [];
    return this.deps.store.listUsers({ kind: "service", ownerId: owner.id, limit });
  }

  /** Refuses to remove the last enabled admin: nobody could manage Steward afterwards. */
  private async assertAnotherAdmin(exceptId: string): Promise<void> {
    const users = await this.deps.store.listUsers({ limit: 10_000 });
    const others = users.filter(
      (u) => u.roles.includes("admin") && !u.disabled && u.id !== exceptId && u.kind === "user",
    );
    if (others.length === 0)
      throw new StewardError("conflict", "This is the last administrator; make another one first.");
  }

  /** First start: create `admin` with the given or a random password; returns the password to print once. */
  async ensureFirstAdmin(
    actor: Actor,
    password: string | null,
  ): Promise<{ created: boolean; password?: string }> {
    if ((await this.deps.store.countUsers()) > 0) return { created: false };
    const chosen = password ?? this.deps.random.bytes(24).toString("base64url");
    try {
      await this.create(actor, {
        id: "admin",
        fullName: "Administrator",
        password: chosen,
        roles: ["admin", "user"],
        mustChangePassword: password === null,
      });
    } catch (error) {
      // Several instances starting at once on an empty database: one creates the admin, the others carry on.
      if (error instanceof StewardError && error.code === "conflict") return { created: false };
      throw error;
    }
    return { created: true, password: password === null ? chosen : undefined };
  }
}
