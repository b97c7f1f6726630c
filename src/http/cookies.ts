import { parseCookie, type SetCookie, stringifySetCookie } from "cookie";
import type { FastifyReply } from "fastify";

/** One cookie of a request, parsed only when the request has a Cookie header (API clients send none). */
export function cookieOf(cookieHeader: string | undefined, name: string): string | undefined {
  return cookieHeader ? parseCookie(cookieHeader)[name] : undefined;
}

export type CookieOptions = Omit<SetCookie, "name" | "value">;

export function setCookie(reply: FastifyReply, name: string, value: string, options: CookieOptions): void {
  reply.header("Set-Cookie", stringifySetCookie({ name, value, ...options }));
}

/** Tells the browser to drop a cookie (same path, expired). */
export function clearCookie(reply: FastifyReply, name: string, options: CookieOptions): void {
  setCookie(reply, name, "", { ...options, expires: new Date(0), maxAge: 0 });
}
