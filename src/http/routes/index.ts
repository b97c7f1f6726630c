import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { apiMeRoutes } from "./api-me.js";
import { crumbIssuerRoutes } from "./crumb-issuer.js";
import { healthRoutes } from "./health.js";
import { jenkinsIdentityRoutes } from "./jenkins-identity.js";
import { jenkinsTokenMethodRoutes } from "./jenkins-token-methods.js";
import { loginRoutes } from "./login.js";
import { uiBasicRoutes } from "./ui-basic.js";

/** Every route of the server, by area. */
export function registerRoutes(app: FastifyInstance, services: Services): void {
  healthRoutes(app, services);
  crumbIssuerRoutes(app, services);
  jenkinsIdentityRoutes(app, services);
  jenkinsTokenMethodRoutes(app, services);
  loginRoutes(app, services);
  uiBasicRoutes(app, services);
  apiMeRoutes(app);
}
