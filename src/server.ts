import type { FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { type Clock, systemClock } from "./core/clock.js";
import { ANONYMOUS } from "./core/permissions.js";
import { type Random, systemRandom } from "./core/random.js";
import { createApp } from "./http/app.js";
import { buildServices, type Services } from "./service/services.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  store: Store;
  url: string;
  /** Graceful stop: stop accepting, finish requests, write usage counts, close the database. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  clock?: Clock;
  random?: Random;
  /** Where one-time messages (the first admin's password) go; default stdout. */
  print?: (line: string) => void;
  logStream?: NodeJS.WritableStream;
}

/** Opens the store, creates the first admin if there is no user, and listens. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const store = await openStore(config);
  // Background jobs (usage flush, webhook deliveries, expiry notices) report to the log once it exists.
  let reportBackgroundError = (_error: unknown): void => {};
  const services = await buildServices({
    store,
    config,
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    onBackgroundError: (error) => reportBackgroundError(error),
  });
  const system = {
    principal: { ...ANONYMOUS, userId: "steward" },
    ip: null,
    userAgent: "steward serve",
    requestId: null,
  };
  const admin = await services.users.ensureFirstAdmin(system, config.adminPassword);
  if (admin.created && admin.password) {
    print("*************************************************************");
    print("Steward created the first administrator.");
    print(`  user:     admin`);
    print(`  password: ${admin.password}`);
    print("This password is shown only now and stored only as a hash.");
    print("Sign in and change it at /account/password.");
    print("*************************************************************");
  }
  const app = await createApp(services, { logStream: options.logStream });
  reportBackgroundError = (error) => app.stewardLog.error({ err: error }, "background job failed");
  services.usage.start(config.usageFlushMs);
  services.deliveries.start();
  services.expiry.start();
  const sessionSweeper = setInterval(
    () => void store.deleteExpiredSessions(Date.now()).catch(() => {}),
    3600_000,
  );
  sessionSweeper.unref();
  // Failure counts of ended windows are of no use; many addresses can leave many rows, so every minute.
  const authFailureSweeper = setInterval(
    () => void store.deleteExpiredAuthFailures(services.deps.clock.now()).catch(() => {}),
    60_000,
  );
  authFailureSweeper.unref();
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  print(`Steward listening on ${url}`);
  let stopping: Promise<void> | null = null;
  return {
    app,
    services,
    store,
    url,
    stop() {
      stopping ??= (async () => {
        clearInterval(sessionSweeper);
        clearInterval(authFailureSweeper);
        await app.close();
        await services.expiry.stop();
        await services.deliveries.stop();
        await services.usage.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
