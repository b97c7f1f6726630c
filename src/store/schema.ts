import type { Generated } from "kysely";

/** Row shapes as stored. Times are milliseconds since the epoch; flags are 0/1 in both databases. */
export interface UsersTable {
  id: string;
  id_key: string;
  full_name: string;
  email: string | null;
  password_hash: string | null;
  roles: string;
  kind: string;
  owner_id: string | null;
  disabled: number;
  must_change_password: number;
  created_at: number;
  updated_at: number;
}

export interface TokensTable {
  id: string;
  user_id: string;
  name: string;
  hash: string;
  format: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  use_count: number;
  scopes: string | null;
  allowed_cidrs: string | null;
  grace_until: number | null;
  replaced_by: string | null;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string | null;
  created_at: number;
  expires_at: number;
}

export interface KeyValueTable {
  name: string;
  value: string;
}

export interface AuditTable {
  id: Generated<number>;
  at: number;
  action: string;
  actor_user_id: string | null;
  actor_token_id: string | null;
  target_user_id: string | null;
  target_token_id: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: string;
  request_id: string | null;
  details: string;
}

export interface TokenAddressesTable {
  token_id: string;
  ip: string;
  first_seen_at: number;
  last_seen_at: number;
  use_count: number;
}

export interface WebhooksTable {
  id: string;
  url: string;
  /** JSON list of event filters. */
  events: string;
  secret: string;
  created_at: number;
  created_by: string | null;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: string;
  event_id: number;
  /** "pending", "delivered" or "failed" (gave up). */
  status: string;
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  /** Claimed by a sender until this time; another instance may take it over afterwards. */
  locked_until: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

export interface TokenExpiryNoticesTable {
  token_id: string;
  threshold_days: number;
  sent_at: number;
}

/**
 * Failed authentications per key (`ip:<address>`, `user:<id>`; never a secret) and fixed window, shared
 * by every instance on the database. A row is of no use after `window_end`: the sweeper deletes it.
 */
export interface AuthFailuresTable {
  key: string;
  window_start: number;
  window_end: number;
  failures: number;
}

export interface Database {
  users: UsersTable;
  tokens: TokensTable;
  sessions: SessionsTable;
  settings: KeyValueTable;
  server_secrets: KeyValueTable;
  audit_events: AuditTable;
  token_addresses: TokenAddressesTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  token_expiry_notices: TokenExpiryNoticesTable;
  auth_failures: AuthFailuresTable;
}
