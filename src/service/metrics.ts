/**
 * Request and authentication counters for `/metrics` (SPEC §4.2). Plain numbers in fixed slots: the
 * hot lane counts its answers with no allocation.
 */

/**
 * How a caller authenticated, or tried to: `basic` is a refused Basic secret (it may have been meant as
 * a token or as a password); forward auth accepts tokens only, so its refusals count as `token`.
 */
export const AUTH_METHODS = ["token", "password", "session", "basic"] as const;
export type AuthMetricMethod = (typeof AUTH_METHODS)[number];

export const AUTH_OUTCOMES = ["success", "refused", "expired", "ip_refused", "rate_limited"] as const;
export type AuthOutcome = (typeof AUTH_OUTCOMES)[number];

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

export class Metrics {
  private readonly responses = new Float64Array(STATUS_CLASSES.length);
  private readonly auth = new Float64Array(AUTH_METHODS.length * AUTH_OUTCOMES.length);

  /** One answered request, by the class of its status. */
  countResponse(status: number): void {
    const slot = Math.floor(status / 100) - 1;
    if (slot >= 0 && slot < STATUS_CLASSES.length) this.responses[slot]!++;
  }

  countAuth(method: AuthMetricMethod, outcome: AuthOutcome): void {
    this.auth[AUTH_METHODS.indexOf(method) * AUTH_OUTCOMES.length + AUTH_OUTCOMES.indexOf(outcome)]!++;
  }

  /** The counters in Prometheus' text format; label sets never seen are left out. */
  prometheusLines(): string[] {
    const lines = [
      "# HELP steward_http_requests_total Requests answered, by status class.",
      "# TYPE steward_http_requests_total counter",
    ];
    STATUS_CLASSES.forEach((code, slot) => {
      lines.push(`steward_http_requests_total{code="${code}"} ${this.responses[slot]}`);
    });
    lines.push(
      "# HELP steward_auth_total Authentication attempts with credentials, by method and outcome.",
      "# TYPE steward_auth_total counter",
    );
    AUTH_METHODS.forEach((method, m) => {
      AUTH_OUTCOMES.forEach((outcome, o) => {
        const count = this.auth[m * AUTH_OUTCOMES.length + o]!;
        if (count > 0) lines.push(`steward_auth_total{method="${method}",outcome="${outcome}"} ${count}`);
      });
    });
    return lines;
  }
}

/** The outcome a refusal at authentication is counted as, by its error code; undefined for others. */
export function authOutcomeOf(code: string): AuthOutcome | undefined {
  switch (code) {
    case "unauthenticated":
      return "refused";
    case "token_expired":
      return "expired";
    case "ip_not_allowed":
      return "ip_refused";
    case "rate_limited":
      return "rate_limited";
    default:
      return undefined;
  }
}
