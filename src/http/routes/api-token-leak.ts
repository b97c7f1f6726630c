import type { FastifyInstance } from "fastify";
import { FailureLimiter } from "../../auth/rate-limiter.js";
import { StewardError } from "../../core/errors.js";
import { parseToken } from "../../core/token-format.js";
import type { Services } from "../../service/services.js";

/** Leak reports allowed per client address per window: plenty for a secret scanner, little for a prober. */
export const LEAK_REPORTS_PER_WINDOW = 30;
export const LEAK_REPORT_WINDOW_MS = 60_000;
export const MAX_LEAK_REPORT_TOKENS = 1000;

/**
 * POST /api/v1/tokens/report-leak: anyone holding a token value may report it (holding it is the proof),
 * as secret scanners do. Matching live tokens are revoked and their owners see `token.leak-reported` in
 * the audit log. The answer is the same whatever matched, so it tells the reporter nothing.
 */
export function apiTokenLeakRoutes(api: FastifyInstance, services: Services): void {
  const { store, clock } = services.deps;
  const limiter = new FailureLimiter(
    { maxFailures: LEAK_REPORTS_PER_WINDOW, windowMs: LEAK_REPORT_WINDOW_MS },
    clock,
    // Shared through the database, like the authentication counters: one budget for all instances.
    store,
  );

  api.post<{ Body: { tokens: string[] } }>(
    "/api/v1/tokens/report-leak",
    {
      // No credentials and no crumb: the reporter is usually not a user, and the values are the proof.
      config: { public: true, crumbExempt: true, documentedErrors: [429] },
      // Counted before parsing, so malformed floods are limited too. Every report counts; the count the
      // write returns says whether this one is beyond the limit.
      onRequest: async (request) => {
        const retryAfter = await limiter.recordFailure(`leak:${request.ip}`);
        if (retryAfter > 0) {
          throw new StewardError(
            "rate_limited",
            "Too many leak reports from this address; try again later.",
            {
              retryAfter,
            },
          );
        }
      },
      schema: {
        summary: "Report leaked token values",
        description:
          "Revokes every live token among the values (any format; anything else is ignored). Answers 202 " +
          `with the number of values received, never which matched. At most ${MAX_LEAK_REPORT_TOKENS} values; ` +
          `${LEAK_REPORTS_PER_WINDOW} reports per minute per client address.`,
        tags: ["tokens"],
        operationId: "reportLeak",
        body: {
          type: "object",
          required: ["tokens"],
          properties: {
            tokens: {
              type: "array",
              items: { type: "string", maxLength: 512 },
              maxItems: MAX_LEAK_REPORT_TOKENS,
            },
          },
          additionalProperties: false,
        },
        response: {
          202: {
            description: "Received; matching live tokens are revoked. Says nothing about which matched.",
            type: "object",
            required: ["received"],
            properties: { received: { type: "integer", description: "How many values were received." } },
            additionalProperties: false,
          },
        },
      },
    },
    async (request, reply) => {
      const values = request.body.tokens;
      // Hash → format: as in verification, a value only matches a token of its own format (the bare
      // 32-hex secret of an `11…` token is not that token).
      const candidates = new Map<string, string>();
      for (const value of values) {
        const parsed = parseToken(value.trim());
        if (parsed) candidates.set(parsed.hash, parsed.format);
      }
      const now = clock.now();
      for (const [hash, format] of candidates) {
        const found = await store.findTokenByHash(hash);
        const live =
          found?.token.format === format && (found.token.revokedAt === null || found.token.revokedAt > now);
        if (found && live) {
          await services.tokens.revoke(request.actor, found.token, "token.leak-reported");
        }
      }
      return reply.code(202).send({ received: values.length });
    },
  );
}
