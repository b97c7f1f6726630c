import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";

type Dialect = "sqlite" | "postgres";

/**
 * Versioned migrations, shared by both databases. Column types are chosen to mean the same on both
 * (bigint for times, integer 0/1 for flags, text for JSON); only the auto-increment id differs.
 */
function initial(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("users")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("id_key", "text", (c) => c.notNull().unique())
        .addColumn("full_name", "text", (c) => c.notNull())
        .addColumn("email", "text")
        .addColumn("password_hash", "text")
        .addColumn("roles", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("owner_id", "text")
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("must_change_password", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull().unique())
        .addColumn("format", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint")
        .addColumn("revoked_at", "bigint")
        .addColumn("last_used_at", "bigint")
        .addColumn("use_count", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("scopes", "text")
        .addColumn("allowed_cidrs", "text")
        .addColumn("grace_until", "bigint")
        .addColumn("replaced_by", "text")
        .execute();
      await db.schema.createIndex("tokens_user_id").on("tokens").column("user_id").execute();

      await db.schema
        .createTable("sessions")
        .addColumn("id_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("sessions_user_id").on("sessions").column("user_id").execute();
      await db.schema.createIndex("sessions_expires_at").on("sessions").column("expires_at").execute();

      for (const table of ["settings", "server_secrets"]) {
        await db.schema
          .createTable(table)
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("value", "text", (c) => c.notNull())
          .execute();
      }

      await db.schema
        .createTable("audit_events")
        .addColumn("id", dialect === "postgres" ? "bigserial" : "integer", (c) =>
          dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn("at", "bigint", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("actor_user_id", "text")
        .addColumn("actor_token_id", "text")
        .addColumn("target_user_id", "text")
        .addColumn("target_token_id", "text")
        .addColumn("ip", "text")
        .addColumn("user_agent", "text")
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("request_id", "text")
        .addColumn("details", "text", (c) => c.notNull())
        .execute();
      for (const column of ["at", "action", "actor_user_id", "target_user_id", "target_token_id"]) {
        await db.schema.createIndex(`audit_events_${column}`).on("audit_events").column(column).execute();
      }
      // Append-only: the database itself refuses to change or remove a recorded event.
      if (dialect === "sqlite") {
        await sql`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
          BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END`.execute(db);
        await sql`CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
          BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END`.execute(db);
      } else {
        await sql`CREATE FUNCTION steward_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$`.execute(db);
        await sql`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
          FOR EACH ROW EXECUTE FUNCTION steward_audit_append_only()`.execute(db);
      }
    },
  };
}

/**
 * Audit notifications (issue 5): the client addresses each token was used from, webhooks and their
 * queued deliveries, and the expiry notices already sent.
 */
function auditNotifications(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // Bounded per token (the most recent addresses); counts are added, never overwritten, so several
      // instances flushing the same token add up.
      await db.schema
        .createTable("token_addresses")
        .addColumn("token_id", "text", (c) => c.notNull())
        .addColumn("ip", "text", (c) => c.notNull())
        .addColumn("first_seen_at", "bigint", (c) => c.notNull())
        .addColumn("last_seen_at", "bigint", (c) => c.notNull())
        .addColumn("use_count", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("token_addresses_pk", ["token_id", "ip"])
        .execute();

      await db.schema
        .createTable("webhooks")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("events", "text", (c) => c.notNull())
        // The signing key must be usable, so it is kept as is (never shown again, never logged).
        .addColumn("secret", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("created_by", "text")
        .execute();

      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("id", dialect === "postgres" ? "bigserial" : "integer", (c) =>
          dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn("webhook_id", "text", (c) => c.notNull())
        .addColumn("event_id", "bigint", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("locked_until", "bigint")
        .addColumn("last_attempt_at", "bigint")
        .addColumn("last_status", "integer")
        .addColumn("last_error", "text")
        .addColumn("delivered_at", "bigint")
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_due")
        .on("webhook_deliveries")
        .columns(["status", "next_attempt_at"])
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_webhook")
        .on("webhook_deliveries")
        .columns(["webhook_id", "id"])
        .execute();

      // One row per token and threshold (0 = "expired"): the key makes each notice once, across instances.
      await db.schema
        .createTable("token_expiry_notices")
        .addColumn("token_id", "text", (c) => c.notNull())
        .addColumn("threshold_days", "integer", (c) => c.notNull())
        .addColumn("sent_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("token_expiry_notices_pk", ["token_id", "threshold_days"])
        .execute();
      await db.schema.createIndex("tokens_expires_at").on("tokens").column("expires_at").execute();
    },
  };
}

/**
 * Failed-authentication counters in the database (SPEC §7: rate-limit state is shared), so that N
 * instances behind a load balancer give an attacker one budget, not N, and a restart resets nothing.
 * One row per key and fixed window; counts are added, never overwritten.
 */
function authFailures(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("auth_failures")
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("window_start", "bigint", (c) => c.notNull())
        .addColumn("window_end", "bigint", (c) => c.notNull())
        .addColumn("failures", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("auth_failures_pk", ["key", "window_start"])
        .execute();
      await db.schema
        .createIndex("auth_failures_window_end")
        .on("auth_failures")
        .column("window_end")
        .execute();
    },
  };
}

/** Service accounts are looked up by their human owner (the owner's account page lists them). */
function usersByOwner(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex("users_owner_id").on("users").column("owner_id").execute();
    },
  };
}

/**
 * Live legacy tokens, which admins are warned about while any exist (as Jenkins' monitor does): a
 * partial index holds just those, so counting them never scans the token table.
 */
function liveLegacyTokens(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex("tokens_live_legacy")
        .on("tokens")
        .column("user_id")
        .where(sql.ref("format"), "=", "legacy")
        .where(sql.ref("revoked_at"), "is", null)
        .execute();
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      return {
        "0001_initial": initial(dialect),
        "0002_audit_notifications": auditNotifications(dialect),
        "0003_auth_failures": authFailures(),
        "0004_users_by_owner": usersByOwner(),
        "0005_live_legacy_tokens": liveLegacyTokens(),
      };
    },
  };
}
