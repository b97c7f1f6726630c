import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";

/** How long /readyz waits for the database before answering 503 (probes time out at a few seconds). */
const READY_TIMEOUT_MS = 2000;

/** Liveness, readiness and Prometheus metrics. Public: they reveal no user data. */
export function healthRoutes(app: FastifyInstance, services: Services): void {
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok" }));

  // Ready: the database answers and has every migration of this version applied.
  app.get("/readyz", { config: { public: true } }, async (_request, reply) => {
    const unavailable = (message: string) =>
      reply.code(503).send({ error: { code: "unavailable", message } });
    let pending: string[];
    let timer: NodeJS.Timeout | undefined;
    try {
      // A probe wants an answer within its own timeout: a database that does not answer in time is down.
      const tooSlow = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), READY_TIMEOUT_MS);
      });
      pending = await Promise.race([services.deps.store.pendingMigrations(), tooSlow]);
    } catch {
      return unavailable("The database is not reachable.");
    } finally {
      clearTimeout(timer);
    }
    if (pending.length > 0) {
      return unavailable(`The database lacks migrations ${pending.join(", ")}: run \`steward migrate\`.`);
    }
    return { status: "ready" };
  });

  app.get("/metrics", { config: { public: true } }, async (_request, reply) => {
    const { verifier, usage, deps } = services;
    const lookups = verifier.hits + verifier.misses;
    const lines = [
      "# HELP steward_token_cache_hits_total Token verifications answered from the cache.",
      "# TYPE steward_token_cache_hits_total counter",
      `steward_token_cache_hits_total ${verifier.hits}`,
      "# HELP steward_token_cache_misses_total Token verifications that read the database.",
      "# TYPE steward_token_cache_misses_total counter",
      `steward_token_cache_misses_total ${verifier.misses}`,
      "# HELP steward_token_cache_hit_ratio Share of token verifications answered from the cache.",
      "# TYPE steward_token_cache_hit_ratio gauge",
      `steward_token_cache_hit_ratio ${lookups === 0 ? 0 : (verifier.hits / lookups).toFixed(4)}`,
      "# HELP steward_token_cache_entries Tokens held in the cache.",
      "# TYPE steward_token_cache_entries gauge",
      `steward_token_cache_entries ${verifier.cacheSize}`,
      "# HELP steward_hot_lane_answers_total Requests answered before routing: whoAmI and forward auth with a cached token, anonymous whoAmI.",
      "# TYPE steward_hot_lane_answers_total counter",
      `steward_hot_lane_answers_total ${app.hotLane.answered}`,
      "# HELP steward_usage_flush_lag_seconds Seconds since usage statistics were last written.",
      "# TYPE steward_usage_flush_lag_seconds gauge",
      `steward_usage_flush_lag_seconds ${usage.lastFlushAt === 0 ? 0 : ((deps.clock.now() - usage.lastFlushAt) / 1000).toFixed(3)}`,
      ...services.metrics.prometheusLines(),
      "",
    ];
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(lines.join("\n"));
  });
}
