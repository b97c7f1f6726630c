import type { FastifyReply, FastifyRequest } from "fastify";
import { JENKINS_HEADERS } from "./jenkins-headers.js";
import { type Surface, surfaceOf } from "./surface.js";

const EVERY_ANSWER: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/** Pages and the Jenkins surface: Jenkins' identity headers, no framing, and a strict CSP. */
const PAGES_AND_JENKINS: Record<string, string> = {
  ...EVERY_ANSWER,
  ...JENKINS_HEADERS,
  "x-frame-options": "deny",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
};

/** The surface of each route pattern, worked out once (a request without a route: from its path). */
const surfaceByRoute = new Map<string, Surface>();

export function surfaceOfRequest(request: FastifyRequest): Surface {
  const route = request.routeOptions.url;
  if (route === undefined) return surfaceOf(request.url);
  let surface = surfaceByRoute.get(route);
  if (surface === undefined) {
    surface = surfaceOf(route);
    surfaceByRoute.set(route, surface);
  }
  return surface;
}

/** The headers every answer of a surface carries. */
export function securityHeadersOf(surface: Surface): Readonly<Record<string, string>> {
  return surface === "api" ? EVERY_ANSWER : PAGES_AND_JENKINS;
}

/** The headers every answer carries, by surface; set before anything can fail, so errors carry them too. */
export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(securityHeadersOf(surfaceOfRequest(request)));
}
