import type { Clock } from "../core/clock.js";
import { invalid, notFound } from "../core/errors.js";
import { parseEventFilters } from "../core/event-filter.js";
import { SIGNATURE_HEADER, signWebhook } from "../core/webhook-signature.js";
import type {
  ClaimedDelivery,
  DeliveryRecord,
  DeliveryStatus,
  Store,
  WebhookRecord,
} from "../store/store.js";
import { auditEventView } from "./audit.js";
import { type Actor, auditEvent, type Deps } from "./context.js";

const MAX_URL_LENGTH = 2000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A webhook as the API lists it: never its secret. */
export function webhookView(webhook: WebhookRecord) {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    createdAt: iso(webhook.createdAt)!,
  };
}

/** One entry of a webhook's delivery log. */
export function deliveryView(delivery: DeliveryRecord) {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    event: delivery.action,
    status: delivery.status,
    attempts: delivery.attempts,
    createdAt: iso(delivery.createdAt)!,
    lastAttemptAt: iso(delivery.lastAttemptAt),
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.status === "pending" ? iso(delivery.nextAttemptAt) : null,
    deliveredAt: iso(delivery.deliveredAt),
  };
}

/** An http(s) URL without credentials in it. */
function parseWebhookUrl(input: unknown): string {
  if (typeof input !== "string" || input.length === 0 || input.length > MAX_URL_LENGTH) {
    throw invalid(`url must be an http:// or https:// URL of at most ${MAX_URL_LENGTH} characters.`, {
      field: "url",
    });
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw invalid("url is not a valid URL.", { field: "url" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid("url must start with http:// or https://.", { field: "url" });
  }
  // Listed to every admin each time, unlike the secret: credentials do not belong in it. Receivers
  // authenticate Steward by the signature.
  if (url.username !== "" || url.password !== "") {
    throw invalid("url must not contain a user name or password; verify the Steward-Signature instead.", {
      field: "url",
    });
  }
  return url.toString();
}

/** Admin management of webhooks (SPEC §4.2): create (secret shown once), list, delete, test, delivery log. */
export class WebhookService {
  constructor(private readonly deps: Deps) {}

  async create(
    actor: Actor,
    input: { url: unknown; events: unknown },
  ): Promise<{ webhook: WebhookRecord; secret: string }> {
    const { deps } = this;
    const url = parseWebhookUrl(input.url);
    const events = parseEventFilters(input.events);
    const secret = `whsec_${deps.random.bytes(32).toString("base64url")}`;
    const webhook: WebhookRecord = {
      id: deps.random.uuid(),
      url,
      events,
      secret,
      createdAt: deps.clock.now(),
      createdBy: actor.principal.userId,
    };
    // The event names the host only: some receivers (chat incoming hooks) carry their secret in the path.
    await deps.store.createWebhook(
      webhook,
      auditEvent(
        deps,
        actor,
        "webhook.created",
        {},
        { webhookId: webhook.id, host: new URL(url).host, events },
      ),
    );
    return { webhook, secret };
  }

  list(): Promise<WebhookRecord[]> {
    return this.deps.store.listWebhooks();
  }

  async get(id: string): Promise<WebhookRecord> {
    const webhook = await this.deps.store.getWebhook(id);
    if (!webhook) throw notFound("Webhook");
    return webhook;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const webhook = await this.get(id);
    const deleted = await this.deps.store.deleteWebhook(
      webhook.id,
      auditEvent(
        this.deps,
        actor,
        "webhook.deleted",
        {},
        { webhookId: webhook.id, host: new URL(webhook.url).host },
      ),
    );
    if (!deleted) throw notFound("Webhook");
  }

  /** Queues a `webhook.tested` event for this webhook alone; the background sender delivers it. */
  async test(actor: Actor, id: string): Promise<void> {
    const webhook = await this.get(id);
    const queued = await this.deps.store.queueTestDelivery(
      webhook.id,
      auditEvent(this.deps, actor, "webhook.tested", {}, { webhookId: webhook.id }),
    );
    if (!queued) throw notFound("Webhook");
  }

  async deliveries(id: string, query: { before?: number; limit: number }): Promise<DeliveryRecord[]> {
    const webhook = await this.get(id);
    return this.deps.store.listDeliveries(webhook.id, query);
  }
}

export interface DispatcherOptions {
  /** Attempts before a delivery is given up ("failed"). Default 10. */
  maxAttempts?: number;
  /** Wait after the first failed attempt; doubled after each further one (1 s, 2 s, 4 s…). Default 1 s. */
  baseDelayMs?: number;
  /** Longest wait between attempts. Default one hour. */
  maxDelayMs?: number;
  /** An attempt without an answer within this is a failure. Default 10 s. */
  timeoutMs?: number;
  /** How long a claimed delivery is kept from other instances. Longer than `timeoutMs`. Default 60 s. */
  leaseMs?: number;
  /** Deliveries claimed (and sent in parallel) at once. Default 20. */
  batchSize?: number;
}

const DEFAULTS: Required<DispatcherOptions> = {
  maxAttempts: 10,
  baseDelayMs: 1000,
  maxDelayMs: 3600_000,
  timeoutMs: 10_000,
  leaseMs: 60_000,
  batchSize: 20,
};

/** The JSON body of a delivery: the same for every attempt, so receivers can dedupe by `id`. */
export function deliveryBody(claimed: ClaimedDelivery): string {
  return JSON.stringify({
    id: String(claimed.delivery.id),
    event: claimed.event.action,
    createdAt: new Date(claimed.delivery.createdAt).toISOString(),
    data: auditEventView(claimed.event),
  });
}

/** Why an attempt got no answer, without the URL (which may carry a receiver's secret path). */
function describeFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === "string") return `connection failed (${cause.code})`;
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return "timed out";
  return "connection failed";
}

/**
 * Sends queued webhook deliveries in the background: claims due ones from the database (so they survive
 * a restart, and with several instances each is sent by one), signs each attempt, and retries failures
 * with exponential back-off until `maxAttempts`. Never logs a secret or a receiver's URL.
 */
export class WebhookDispatcher {
  private readonly options: Required<DispatcherOptions>;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    options: DispatcherOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Sends what is due now, once; resolves with the number of attempts made. */
  runOnce(): Promise<number> {
    this.running ??= this.sendDue().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sendDue(): Promise<number> {
    const { batchSize, leaseMs } = this.options;
    const claimed = await this.store.claimDeliveries(this.clock.now(), batchSize, leaseMs);
    await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
    return claimed.length;
  }

  private async attempt(claimed: ClaimedDelivery): Promise<void> {
    const body = deliveryBody(claimed);
    const signature = signWebhook(claimed.secret, body, this.clock.now() / 1000);
    let lastStatus: number | null = null;
    let lastError: string | null = null;
    try {
      const response = await fetch(claimed.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Steward-Webhooks/1",
          "steward-event": claimed.event.action,
          "steward-delivery": String(claimed.delivery.id),
          [SIGNATURE_HEADER.toLowerCase()]: signature,
        },
        body,
        // A redirect is an answer to read, not to follow: the signed body goes to the configured URL only.
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      lastStatus = response.status;
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 200 || response.status >= 300) lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = describeFailure(error);
    }
    const at = this.clock.now();
    const attempts = claimed.delivery.attempts + 1;
    let status: DeliveryStatus = "delivered";
    let nextAttemptAt: number | null = null;
    if (lastError !== null) {
      status = attempts >= this.options.maxAttempts ? "failed" : "pending";
      if (status === "pending") nextAttemptAt = at + this.backoff(attempts);
    }
    try {
      await this.store.finishDelivery(claimed.delivery.id, {
        at,
        status,
        nextAttemptAt,
        lastStatus,
        lastError,
      });
    } catch (error) {
      // The lease runs out and the delivery is sent again: at least once, never lost.
      this.onError(error);
    }
  }

  /** Wait after the `attempts`-th failed attempt: base × 2^(attempts−1), capped. */
  backoff(attempts: number): number {
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempts - 1));
  }

  /** Polls the queue every `pollMs` (a batch that came back full is followed at once by the next). */
  start(pollMs = 1000): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      void this.drain();
    }, pollMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    try {
      for (let round = 0; round < 50; round++) {
        if ((await this.runOnce()) < this.options.batchSize) return;
      }
    } catch (error) {
      this.onError(error);
    }
  }

  /** Stops polling and waits for attempts under way; unsent deliveries stay queued in the database. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
