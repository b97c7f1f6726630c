import { statSync } from "node:fs";
import { join } from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import type { JenkinsImportOptions, JenkinsImportReport } from "../service/import-jenkins.js";
import { CLI_ACTOR, fail, type GlobalOptions, output, withServices } from "./context.js";

/** Below this many users an import takes a blink; a bar would only flicker. */
const LARGE_HOME_USERS = 50;
/** Beyond this many, the text report gives totals only (`--json` has every user). */
const MAX_USER_LINES = 25;

/** A progress bar on stderr (stdout stays clean for the report), only on a terminal and for large homes. */
function progressBar(): { onProgress: NonNullable<JenkinsImportOptions["onProgress"]>; stop(): void } {
  let bar: cliProgress.SingleBar | null = null;
  let phase = "";
  const enabled = process.stderr.isTTY === true;
  return {
    onProgress({ phase: next, done, total }) {
      if (!enabled || total < LARGE_HOME_USERS) return;
      if (next !== phase) {
        bar?.stop();
        phase = next;
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${next === "read" ? "Reading users  " : "Importing users"} [{bar}] {value}/{total} {percentage}% ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      } else {
        bar?.update(done);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

function describe(report: JenkinsImportReport): string {
  const { users, tokens } = report.summary;
  const verb = report.dryRun ? "Would import" : "Imported";
  const lines = [
    `${verb} from ${report.home}${report.dryRun ? " (dry run: nothing was written)" : ""}`,
    `Users:  ${users.read} read — ${users.created} created, ${users.updated} updated, ${users.unchanged} unchanged${users.failed ? `, ${users.failed} FAILED` : ""}`,
    `Tokens: ${tokens.read} read — ${tokens.imported} imported, ${tokens.unchanged} already there, ${tokens.skipped} skipped${tokens.failed ? `, ${tokens.failed} FAILED` : ""}`,
  ];
  const touched = report.users.filter(
    (u) => u.outcome !== "unchanged" || u.tokens.some((t) => t.outcome !== "unchanged"),
  );
  if (touched.length > MAX_USER_LINES) {
    lines.push(`  (${touched.length} users touched; --json lists each of them)`);
  }
  for (const user of touched.length > MAX_USER_LINES ? [] : touched) {
    const imported = user.tokens.filter((t) => t.outcome === "imported").length;
    const changed = user.changed.length > 0 ? ` (${user.changed.join(", ")})` : "";
    lines.push(
      `  ${user.id}: ${user.outcome}${changed}, password ${user.password}, ${imported} token(s) ${report.dryRun ? "to import" : "imported"}`,
    );
  }
  if (report.problems.length > 0) {
    const rest = report.dryRun ? "the rest would be imported" : "the rest was imported";
    lines.push(`Problems (${report.problems.length}), ${rest}:`);
    for (const problem of report.problems) lines.push(`  ${problem.file}: ${problem.message}`);
  }
  for (const note of report.notes) lines.push(`Note: ${note}`);
  return lines.join("\n");
}

/**
 * `steward import jenkins <JENKINS_HOME>`. Exit code 0 even with problems in the home (they are
 * reported); 3 when there is no Jenkins home there (no `users/` folder); 1 when the home cannot be read
 * or a write to the database failed.
 */
export function registerImportJenkinsCommand(program: Command): void {
  program
    .command("import")
    .description("import users and API tokens from another system")
    .command("jenkins <JENKINS_HOME>")
    .description(
      "import the users of a Jenkins home: passwords (bcrypt, PBKDF2) and API tokens keep working; safe to re-run",
    )
    .option("--dry-run", "report what would be imported, write nothing")
    .option(
      "--admin <ids...>",
      "give these imported users the admin role (Jenkins' permissions are not read)",
    )
    .action(async (home: string, options: { dryRun?: boolean; admin?: string[] }, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      // Checked before the database is opened: a mistyped path creates nothing.
      if (!statSync(join(home, "users"), { throwIfNoEntry: false })?.isDirectory())
        fail(`${join(home, "users")} was not found: is ${home} a Jenkins home?`, 3);
      const progress = progressBar();
      let report: JenkinsImportReport;
      // Loaded here, not at start: the XML parser is only needed by this command (faster `steward serve`).
      const { importJenkinsHome } = await import("../service/import-jenkins.js");
      try {
        // A dry run into a data folder without a database works on an empty one in memory: no file.
        report = await withServices(
          global,
          (s) =>
            importJenkinsHome(s.deps, CLI_ACTOR, home, {
              dryRun: options.dryRun ?? false,
              admins: options.admin ?? [],
              onProgress: progress.onProgress,
            }),
          options.dryRun ? "memory" : "create",
        );
      } finally {
        progress.stop();
      }
      output(global, report, () => describe(report));
      const { users, tokens } = report.summary;
      if (users.failed + tokens.failed > 0) process.exitCode = 1;
    });
}
