import { readFileSync } from "node:fs";
import { Command, type CommanderError, Option } from "commander";
import { CONFIG_DEFAULTS, ConfigError, ENV_NAMES, flagOf, loadConfig, SETTING_HELP } from "../config.js";
import { parseDurationSeconds } from "../core/duration.js";
import { tokenView, userView } from "../service/views.js";
import { openStore } from "../store/open.js";
import { registerAuditCommands } from "./audit.js";
import {
  CLI_ACTOR,
  describeError,
  fail,
  type GlobalOptions,
  output,
  readStdinLine,
  withServices,
} from "./context.js";
import { registerDevCommands } from "./dev-seed.js";
import { registerImportJenkinsCommand } from "./import-jenkins.js";

/** Steward's own version, from the package it was installed as (not the Jenkins version it announces). */
function packageVersion(): string {
  const manifest = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(manifest) as { version: string }).version;
}

/** Help and version end in 0; a usage error (unknown command or option, missing argument, bad choice) in 2. */
function exitFromCommander(error: CommanderError): never {
  const done = ["commander.helpDisplayed", "commander.help", "commander.version"].includes(error.code);
  process.exit(done || error.exitCode === 0 ? 0 : 2);
}

// Settings given here before any `.command()` are inherited by every subcommand.
const program = new Command("steward")
  .description("Jenkins-compatible API tokens, sessions and CSRF crumbs")
  .version(packageVersion(), "-V, --version", "print Steward's version")
  .configureHelp({ showGlobalOptions: true })
  .exitOverride(exitFromCommander)
  .showHelpAfterError()
  .option("--data-dir <dir>", "data folder (SQLite file, secrets) [env STEWARD_DATA_DIR]")
  .option("--database-url <url>", "postgres://… selects PostgreSQL [env STEWARD_DATABASE_URL]")
  .option("--json", "print JSON for scripts");

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

const serve = program
  .command("serve")
  .description("run the Steward server (every setting is a flag and an environment variable; flags win)");
for (const [env, key] of Object.entries(ENV_NAMES)) {
  const help = SETTING_HELP[key];
  if (help)
    serve.option(
      `${flagOf(key)} <value>`,
      `${help} [env ${env}, default ${String(CONFIG_DEFAULTS[key] ?? "none")}]`,
    );
}
serve.action(async (options: Record<string, string | undefined>, command: Command) => {
  const all = command.optsWithGlobals() as Record<string, string | undefined>;
  const config = loadConfig(process.env, { ...options, dataDir: all.dataDir, databaseUrl: all.databaseUrl });
  const { startServer } = await import("../server.js");
  const server = await startServer(config);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      server.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
});

program
  .command("migrate")
  .description("apply database migrations and exit")
  .action(async (_options, command: Command) => {
    const options = globals(command);
    const config = loadConfig(process.env, { dataDir: options.dataDir, databaseUrl: options.databaseUrl });
    const store = await openStore(config, { migrate: false });
    let applied: string[];
    try {
      // What is pending before (a database never migrated has every migration pending).
      applied = await store.pendingMigrations().catch(() => []);
      await store.migrate();
    } finally {
      await store.close();
    }
    output(options, { migrated: true, applied }, () =>
      applied.length === 0
        ? "The database is up to date."
        : `Applied ${applied.length} migration(s): ${applied.join(", ")}. The database is up to date.`,
    );
  });

const user = program.command("user").description("manage users and service accounts");

async function passwordFrom(options: {
  password?: string;
  passwordStdin?: boolean;
}): Promise<string | undefined> {
  if (options.passwordStdin) return readStdinLine();
  return options.password;
}

user
  .command("add <id>")
  .description("create a user (or a service account with --service)")
  .option("--full-name <name>", "display name")
  .option("--email <email>", "email address")
  .option("--password <password>", "password (prefer --password-stdin: arguments show in `ps`)")
  .option("--password-stdin", "read the password from standard input")
  .option("--admin", "give the admin role")
  .option("--service", "create a service account (no password, cannot sign in)")
  .option("--owner <userId>", "human owner of a service account")
  .action(async (id: string, options, command: Command) => {
    const global = globals(command);
    const password = await passwordFrom(options);
    if (!options.service && !password)
      fail("A user needs a password: use --password-stdin (or --service for a service account).", 2);
    const created = await withServices(
      global,
      (s) =>
        s.users.create(CLI_ACTOR, {
          id,
          fullName: options.fullName,
          email: options.email,
          password,
          roles: options.admin ? ["admin", "user"] : ["user"],
          kind: options.service ? "service" : "user",
          ownerId: options.owner,
        }),
      "create",
    );
    output(
      global,
      userView(created),
      () => `Created ${created.kind === "service" ? "service account" : "user"} ${created.id}.`,
    );
  });

user
  .command("list")
  .description("list users")
  .option("--search <text>", "filter by id, name or email")
  .action(async (options: { search?: string }, command: Command) => {
    const global = globals(command);
    const users = await withServices(global, (s) =>
      s.deps.store.listUsers({ search: options.search, limit: 100_000 }),
    );
    output(global, users.map(userView), () =>
      users.length === 0
        ? "No users."
        : users
            .map(
              (u) =>
                `${u.id}\t${u.kind}\t${u.roles.join(",")}${u.disabled ? "\tdisabled" : ""}\t${u.fullName}`,
            )
            .join("\n"),
    );
  });

user
  .command("delete <id>")
  .description("delete a user with all of its tokens and sessions")
  .action(async (id: string, _options, command: Command) => {
    const global = globals(command);
    await withServices(global, (s) => s.users.delete(CLI_ACTOR, id));
    output(global, { deleted: id }, () => `Deleted ${id}; its tokens and sessions no longer work.`);
  });

user
  .command("passwd <id>")
  .description("set a user's password")
  .option("--password <password>", "new password (prefer --password-stdin)")
  .option("--password-stdin", "read the new password from standard input")
  .action(async (id: string, options, command: Command) => {
    const global = globals(command);
    const password = await passwordFrom(options);
    if (!password) fail("Give the new password with --password-stdin or --password.", 2);
    await withServices(global, (s) => s.users.setPassword(CLI_ACTOR, id, password));
    output(global, { updated: id }, () => `Password of ${id} changed; its sessions were signed out.`);
  });

const token = program.command("token").description("manage API tokens");

function seconds(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = parseDurationSeconds(text);
  if (value === null) fail(`${name} must be a duration like 3600, 90m, 12h, 30d or 2w.`, 2);
  return value;
}

token
  .command("create <userId>")
  .description("create a token for a user; its value is printed once")
  .option("--name <name>", "token name")
  .option("--expires-in <duration>", "lifetime, e.g. 30d")
  .option("--scope <scope...>", "limit the token to these scopes")
  .option("--allow <cidr...>", "accept the token only from these addresses/CIDRs")
  .addOption(
    new Option("--format <format>", "token format").choices(["steward", "jenkins"]).default("steward"),
  )
  .action(async (userId: string, options, command: Command) => {
    const global = globals(command);
    const issued = await withServices(global, async (s) => {
      const owner = await s.users.get(userId);
      return s.tokens.create(CLI_ACTOR, owner, {
        name: options.name,
        expiresInSeconds: seconds(options.expiresIn, "--expires-in"),
        scopes: options.scope,
        allowedCidrs: options.allow,
        format: options.format,
      });
    });
    output(global, { token: tokenView(issued.token), value: issued.value }, () =>
      [
        `Created token "${issued.token.name}" (${issued.token.id}) for ${issued.token.userId}.`,
        "Its value is shown only now:",
        issued.value,
      ].join("\n"),
    );
  });

token
  .command("list <userId>")
  .description("list a user's live tokens")
  .action(async (userId: string, _options, command: Command) => {
    const global = globals(command);
    const tokens = await withServices(global, async (s) => s.tokens.list((await s.users.get(userId)).id));
    const views = tokens.map((t) => tokenView(t));
    output(global, views, () =>
      views.length === 0
        ? "No tokens."
        : views
            .map(
              (t) =>
                `${t.id}\t${t.name}\tcreated ${t.createdAt}\tused ${t.useCount}×\texpires ${t.expiresAt ?? "never"}`,
            )
            .join("\n"),
    );
  });

token
  .command("revoke <tokenId>")
  .description("revoke a token at once")
  .action(async (tokenId: string, _options, command: Command) => {
    const global = globals(command);
    const revoked = await withServices(global, async (s) => {
      const found = await s.deps.store.getToken(tokenId);
      if (!found) fail(`No token with id ${tokenId}.`, 3);
      return s.tokens.revoke(CLI_ACTOR, found);
    });
    output(global, { revoked }, () => (revoked ? `Revoked ${tokenId}.` : `${tokenId} was already revoked.`));
  });

token
  .command("rotate <tokenId>")
  .description("replace a token's value; the old value works for the grace period")
  .option("--grace <duration>", "how long the old value keeps working, e.g. 1h", "0")
  .action(async (tokenId: string, options: { grace: string }, command: Command) => {
    const global = globals(command);
    const issued = await withServices(global, async (s) => {
      const found = await s.deps.store.getToken(tokenId);
      if (!found) fail(`No token with id ${tokenId}.`, 3);
      return s.tokens.rotate(CLI_ACTOR, found, seconds(options.grace, "--grace") ?? 0);
    });
    output(global, { token: tokenView(issued.token), value: issued.value }, () =>
      [`Rotated; the new token is ${issued.token.id}. Its value is shown only now:`, issued.value].join("\n"),
    );
  });

registerDevCommands(program);
registerAuditCommands(program);
registerImportJenkinsCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const { message, exitCode } =
    error instanceof ConfigError ? { message: error.message, exitCode: 2 } : describeError(error);
  process.stderr.write(`steward: ${message}\n`);
  process.exit(exitCode);
});
