import type { FastifyReply } from "fastify";

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

/** Values from the query string or a form body, as Jenkins' Stapler binds parameters. */
export function jenkinsParam(query: unknown, body: unknown, name: string): string | undefined {
  for (const source of [body, query]) {
    if (source && typeof source === "object") {
      const value = (source as Record<string, unknown>)[name];
      if (typeof value === "string") return value;
      if (Array.isArray(value) && typeof value[0] === "string") return value[0];
    }
  }
  return undefined;
}

/** Minimal XML escaping for the handful of XML answers Jenkins clients read. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
