import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions } from "pino";

/**
 * A request's logger, made only when the request logs something. Fastify gives every request a child
 * logger bound to its id; building a pino child serialises its bindings, a cost most requests (which log
 * nothing, or one line at info) should not pay.
 */
class LazyChildLogger {
  private made: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  silent(...args: Parameters<FastifyBaseLogger["silent"]>): void {
    this.real.silent(...args);
  }
  fatal(...args: Parameters<FastifyBaseLogger["fatal"]>): void {
    this.real.fatal(...args);
  }
  error(...args: Parameters<FastifyBaseLogger["error"]>): void {
    this.real.error(...args);
  }
  warn(...args: Parameters<FastifyBaseLogger["warn"]>): void {
    this.real.warn(...args);
  }
  info(...args: Parameters<FastifyBaseLogger["info"]>): void {
    this.real.info(...args);
  }
  debug(...args: Parameters<FastifyBaseLogger["debug"]>): void {
    this.real.debug(...args);
  }
  trace(...args: Parameters<FastifyBaseLogger["trace"]>): void {
    this.real.trace(...args);
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: a lazy child per request. */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
