import pg from "pg";
import type { Invalidation } from "../store.js";

/** The NOTIFY channel every Steward instance sharing a database publishes to and listens on. */
export const INVALIDATION_CHANNEL = "steward_invalidate";

/** Reconnection back-off after the listening connection is lost: 100 ms, doubling up to 2 s. */
const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 2_000;
/**
 * A quiet connection can die without an error (a firewall dropping it, a frozen server). A trivial query
 * at this interval notices within seconds, where TCP keep-alive alone could take minutes.
 */
const HEARTBEAT_MS = 5_000;

/**
 * Keeps one dedicated connection in `LISTEN steward_invalidate` and hands each notification to `deliver`.
 *
 * Fail closed: while the connection is down, notifications sent meanwhile are lost, so `reliable` is
 * false and `{ type: "all" }` is delivered when it goes down and again once listening has resumed
 * (anything cached in between may have missed a revoke).
 */
export class InvalidationListener {
  private client: pg.Client | null = null;
  private listening = false;
  private closed = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly deliver: (change: Invalidation) => void,
  ) {}

  /** True while LISTEN is in place, i.e. no notification can have been missed. */
  get reliable(): boolean {
    return this.listening;
  }

  /** Connects for the first time; errors reach the caller so start-up can report them. */
  async start(): Promise<void> {
    this.listening = await this.listen();
    this.startHeartbeat();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /** Opens a new connection and runs LISTEN on it; false if the connection was lost meanwhile. */
  private async listen(): Promise<boolean> {
    const client = new pg.Client(this.config);
    this.client = client;
    // Without an 'error' handler, a dropped connection would crash the process.
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    client.on("notification", (message) => this.onNotification(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      this.lost(client);
      throw error;
    }
    return this.client === client;
  }

  private onNotification(message: pg.Notification): void {
    if (message.channel !== INVALIDATION_CHANNEL) return;
    this.deliver(parseInvalidation(message.payload));
  }

  /** Called (possibly several times) when `client` fails or ends; schedules a reconnection once. */
  private lost(client: pg.Client): void {
    if (client !== this.client) return;
    this.client = null;
    const wasListening = this.listening;
    this.listening = false;
    void client.end().catch(() => undefined);
    if (this.closed) return;
    if (wasListening) this.deliver({ type: "all" });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
    this.retryTimer = setTimeout(() => void this.reconnect(), delay);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    this.retryTimer = null;
    if (this.closed) return;
    let listening: boolean;
    try {
      listening = await this.listen();
    } catch {
      return; // lost() has already scheduled the next attempt.
    }
    if (!listening || this.closed) return;
    // Revokes made while we were deaf were never heard: drop everything cached, then trust caches again.
    this.deliver({ type: "all" });
    this.listening = true;
    this.retryMs = FIRST_RETRY_MS;
  }

  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.checkAlive(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** A query that fails or hangs means the connection is gone, even if no error was reported. */
  private checkAlive(): void {
    const client = this.client;
    if (!client || !this.listening) return;
    const timer = setTimeout(() => this.lost(client), HEARTBEAT_MS);
    timer.unref();
    client
      .query("SELECT 1")
      .catch(() => this.lost(client))
      .finally(() => clearTimeout(timer));
  }
}

/** Reads a notification payload; anything unexpected drops every cached entry (fail closed). */
export function parseInvalidation(payload: string | undefined): Invalidation {
  try {
    const value: unknown = JSON.parse(payload ?? "");
    if (typeof value === "object" && value !== null) {
      const { type, hash, userId } = value as Record<string, unknown>;
      if (type === "token" && typeof hash === "string") return { type, hash };
      if (type === "user" && typeof userId === "string") return { type, userId };
    }
  } catch {
    // Not JSON: fall through.
  }
  return { type: "all" };
}
