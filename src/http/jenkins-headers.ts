import { randomBytes } from "node:crypto";
import type { FastifyReply } from "fastify";

/** The Jenkins version we answer as: python-jenkins get_version() reads it from X-Jenkins. */
export const JENKINS_VERSION = "2.578";

/** Jenkins sends a random id per controller start as X-Jenkins-Session; so does each Steward process. */
export const JENKINS_SESSION = randomBytes(4).toString("hex");

/** The identity headers Jenkins clients read from pages, `/api/*` answers and the login 403. */
export const JENKINS_HEADERS: Readonly<Record<string, string>> = {
  "x-jenkins": JENKINS_VERSION,
  "x-jenkins-session": JENKINS_SESSION,
};

export function setJenkinsHeaders(reply: FastifyReply): void {
  reply.headers(JENKINS_HEADERS);
}
