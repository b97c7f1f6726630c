import type { FastifyReply, FastifyRequest } from "fastify";

export const JENKINS_JSON_TYPE = "application/json;charset=utf-8";

/** JSON exactly as Jenkins sends it: `application/json;charset=utf-8` with a Content-Length. */
export function sendJenkinsJson(reply: FastifyReply, body: unknown): FastifyReply {
  return sendSerialisedJenkinsJson(reply, JSON.stringify(body));
}

/** The same, for a body serialised beforehand. */
export function sendSerialisedJenkinsJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type(JENKINS_JSON_TYPE).send(json);
}

/** Jenkins' `{"status":"error","message":…}` answered with 200, as its token methods do. */
export function sendJenkinsError(reply: FastifyReply, message: string): FastifyReply {
  return sendJenkinsJson(reply, { status: "error", message });
}

/** The first string of a parameter value (a repeated parameter arrives as an array). */
function firstString(source: unknown, name: string): string | undefined {
  if (!source || typeof source !== "object") return undefined;
  const value = (source as Record<string, unknown>)[name];
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

/** Whether the request's body is a form (`application/x-www-form-urlencoded`), the only body Jenkins reads. */
export function hasFormBody(request: FastifyRequest): boolean {
  const type = request.headers["content-type"];
  return type !== undefined && type.trimStart().toLowerCase().startsWith("application/x-www-form-urlencoded");
}

/**
 * A parameter as Jenkins (a servlet) reads it: from the query string first, then from a form body.
 * A JSON or any other body is not read as parameters.
 */
export function jenkinsParam(request: FastifyRequest, name: string): string | undefined {
  return (
    firstString(request.query, name) ?? (hasFormBody(request) ? firstString(request.body, name) : undefined)
  );
}

/** Minimal XML escaping for the handful of XML answers Jenkins clients read. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
