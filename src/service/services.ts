import { Authenticator } from "../auth/authenticator.js";
import { SessionManager } from "../auth/sessions.js";
import { TokenVerifier } from "../auth/token-verifier.js";
import { UsageRecorder } from "../auth/usage-recorder.js";
import type { Config } from "../config.js";
import type { Clock } from "../core/clock.js";
import { createPasswordHasher, type PasswordHasher } from "../core/password.js";
import type { Random } from "../core/random.js";
import type { Store } from "../store/store.js";
import { DenialRecorder } from "./audit.js";
import type { Deps } from "./context.js";
import { ExpiryWarner } from "./expiry-warnings.js";
import { Metrics } from "./metrics.js";
import { SettingsCache } from "./settings-cache.js";
import { TokenService } from "./tokens.js";
import { UserService } from "./users.js";
import { type DispatcherOptions, WebhookDispatcher, WebhookService } from "./webhooks.js";

/** Everything a running Steward is made of, wired once. */
export interface Services {
  deps: Deps;
  tokens: TokenService;
  users: UserService;
  sessions: SessionManager;
  verifier: TokenVerifier;
  usage: UsageRecorder;
  authenticator: Authenticator;
  /** The HMAC key of crumbs, shared by every instance through the database. */
  crumbSecret: string;
  webhooks: WebhookService;
  /** Sends queued webhook deliveries (started by the server, run by hand in tests). */
  deliveries: WebhookDispatcher;
  /** The periodic expiry-notice job (started by the server), and the warnings for token pages. */
  expiry: ExpiryWarner;
  /** Rate-limited audit events for refusals that change nothing (crumb failures, auth failures). */
  denials: DenialRecorder;
  /** Request and authentication counters for /metrics. */
  metrics: Metrics;
}

export interface ServiceOptions {
  store: Store;
  config: Config;
  clock: Clock;
  random: Random;
  passwords?: PasswordHasher;
  onBackgroundError?: (error: unknown) => void;
  /** Retry and timing policy of webhook deliveries (tests shorten it). */
  webhookDelivery?: DispatcherOptions;
}

export async function buildServices(options: ServiceOptions): Promise<Services> {
  const { store, config, clock, random } = options;
  const settings = await SettingsCache.load(store);
  const deps: Deps = {
    store,
    clock,
    random,
    config,
    settings,
    passwords: options.passwords ?? createPasswordHasher(config.passwordHashCost),
  };
  const onBackgroundError = options.onBackgroundError ?? (() => {});
  const usage = new UsageRecorder(store, clock, onBackgroundError, {
    granularity: () => settings.current.newAddressGranularity,
  });
  const verifier = new TokenVerifier(store, clock, usage, () => settings.current.usageStatisticsEnabled, {
    maxEntries: config.tokenCacheSize,
    ttlMs: config.tokenCacheTtlMs,
  });
  const sessions = new SessionManager(store, clock, random, config.sessionTtlMs);
  const authenticator = new Authenticator(
    store,
    clock,
    deps.passwords,
    verifier,
    sessions,
    () => settings.current,
    {
      failuresPerIp: config.authFailuresPerIp,
      failuresPerUser: config.authFailuresPerUser,
      windowMs: config.authFailureWindowMs,
    },
  );
  const crumbSecret = await store.getOrCreateSecret("crumb", () => random.bytes(32).toString("hex"));
  return {
    deps,
    tokens: new TokenService(deps),
    users: new UserService(deps),
    sessions,
    verifier,
    usage,
    authenticator,
    crumbSecret,
    webhooks: new WebhookService(deps),
    deliveries: new WebhookDispatcher(store, clock, onBackgroundError, options.webhookDelivery),
    expiry: new ExpiryWarner(store, clock, () => settings.current, onBackgroundError),
    denials: new DenialRecorder(store, clock, onBackgroundError),
    metrics: new Metrics(),
  };
}
