import type { Command } from "commander";
import { parseDurationSeconds } from "../core/duration.js";
import { parseIsoDate } from "../core/expiry.js";
import { type AuditEventView, auditEventsOldestFirst, auditEventView } from "../service/audit.js";
import type { Services } from "../service/services.js";
import type { AuditQuery } from "../store/store.js";
import { fail, type GlobalOptions, output, withServices } from "./context.js";

interface FilterOptions {
  since?: string;
  until?: string;
  user?: string;
  token?: string;
  action?: string;
}

/** `--since 2026-01-31`, `--since 2026-01-31T12:00:00Z`, or a time ago: `--since 24h`, `--since 7d`. */
function when(text: string | undefined, name: string, now: number): number | undefined {
  if (text === undefined) return undefined;
  const date = parseIsoDate(text);
  if (date !== null) return date;
  const ago = parseDurationSeconds(text);
  if (ago !== null) return now - ago * 1000;
  fail(`${name} must be an ISO 8601 date or date-time, or a time ago such as 24h or 7d.`, 2);
}

async function filters(services: Services, options: FilterOptions): Promise<Omit<AuditQuery, "limit">> {
  const now = services.deps.clock.now();
  // User ids are case-insensitive; events record them as spelled at creation.
  const userId =
    options.user === undefined
      ? undefined
      : ((await services.deps.store.getUser(options.user))?.id ?? options.user);
  return {
    userId,
    tokenId: options.token,
    action: options.action,
    since: when(options.since, "--since", now),
    until: when(options.until, "--until", now),
  };
}

/** Writes to stdout, waiting when its buffer is full; false once the reader has gone (`| head`). */
function writer(): (text: string) => Promise<boolean> {
  let closed = false;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    closed = true;
  });
  return async (text) => {
    if (closed) return false;
    if (process.stdout.write(text)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        process.stdout.off("drain", done);
        process.stdout.off("close", done);
        resolve();
      };
      process.stdout.on("drain", done);
      process.stdout.on("close", done);
    });
    return !closed;
  };
}

function describe(event: AuditEventView): string {
  const actor = event.actor.userId ?? "anonymous";
  const via = event.actor.tokenId ? ` (token ${event.actor.tokenId})` : "";
  const target = [event.target.userId, event.target.tokenId].filter(Boolean).join(" / ");
  const details = Object.keys(event.details).length > 0 ? `  ${JSON.stringify(event.details)}` : "";
  return [
    event.at,
    event.action.padEnd(22),
    event.outcome.padEnd(7),
    `${actor}${via}`,
    target ? `→ ${target}` : "",
    event.ip ? `from ${event.ip}` : "",
  ]
    .filter(Boolean)
    .join("  ")
    .concat(details);
}

/** `steward audit export` and `steward audit list`. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("read the audit log");
  const withFilters = (command: Command) =>
    command
      .option("--since <when>", "at or after: ISO 8601, or a time ago such as 24h or 7d")
      .option("--until <when>", "before: ISO 8601, or a time ago")
      .option("--user <id>", "events by or about this user")
      .option("--token <id>", "events by or about this token")
      .option("--action <action>", "an action (token.revoked) or a prefix (token.*)");

  withFilters(audit.command("export"))
    .description("print events as JSON lines, oldest first (the shape of GET /api/v1/audit items)")
    .action(async (options: FilterOptions, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const write = writer();
      await withServices(global, async (services) => {
        const query = await filters(services, options);
        for await (const event of auditEventsOldestFirst(services.deps.store, query)) {
          if (!(await write(`${JSON.stringify(auditEventView(event))}\n`))) return;
        }
      });
    });

  // `steward audit` alone lists the most recent events.
  withFilters(audit.command("list", { isDefault: true }))
    .description("show the most recent events, newest first")
    .option("--limit <n>", "how many", "50")
    .action(async (options: FilterOptions & { limit: string }, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        fail("--limit must be a whole number from 1 to 10000.", 2);
      const events = await withServices(global, async (services) =>
        services.deps.store.queryAudit({ ...(await filters(services, options)), limit }),
      );
      const views = events.map(auditEventView);
      output(global, views, () => (views.length === 0 ? "No events." : views.map(describe).join("\n")));
    });
}
