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
