import type { FastifyRequest } from "fastify";
import { type Logger, type LoggerOptions, pino } from "pino";
import "./types.js";

/** Steward's logger: pino at `level`, to `logStream` (tests) or stdout; silent with `logger: false`. */
export function createLog(
  level: string,
  options: { logger?: LoggerOptions | boolean; logStream?: NodeJS.WritableStream },
): Logger {
  const settings: LoggerOptions = {
    level: options.logger === false ? "silent" : level,
    ...(typeof options.logger === "object" ? options.logger : {}),
  };
  return options.logStream ? pino(settings, options.logStream) : pino(settings);
}

/** A request's logger: its id (and any fields a route added) on every line. Made only when used. */
export function requestLog(request: FastifyRequest): Logger {
  return request.server.stewardLog.child({ reqId: request.id, ...request.logFields });
}

/** Log levels at which each request gets its (one) log line. */
const LOGS_REQUESTS = new Set(["info", "debug", "trace"]);

export function logsRequests(log: Logger): boolean {
  return LOGS_REQUESTS.has(log.level);
}

/** Log a request's path only: query strings can carry secrets (e.g. Jenkins' addFixedToken). */
export function pathOnly(url: string): string {
  return url.split("?", 1)[0]!.slice(0, 512);
}

export interface AnsweredRequest {
  id: string;
  /** Fields a route added (e.g. the request forward auth was asked about). */
  fields: Record<string, unknown> | null;
  method: string;
  url: string;
  status: number;
  ms: number;
  userId: string | undefined;
}

/** The one line per request, the same wherever the request was answered. */
export function logRequest(log: Logger, request: AnsweredRequest): void {
  log.info(
    {
      reqId: request.id,
      ...request.fields,
      method: request.method,
      path: pathOnly(request.url),
      status: request.status,
      ms: Math.round(request.ms),
      user: request.userId,
    },
    "request",
  );
}
