import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { registerApiV1 } from "../api-v1.js";
import { apiAuditRoutes } from "./api-audit.js";
import { apiExpiryWarningsRoutes } from "./api-expiry-warnings.js";
import { apiMeRoutes } from "./api-me.js";
import { apiOpenApiRoutes } from "./api-openapi.js";
import { apiSettingsRoutes } from "./api-settings.js";
import { apiTokenRoutes } from "./api-token.js";
import { apiTokenAddressesRoutes } from "./api-token-addresses.js";
import { apiTokenLeakRoutes } from "./api-token-leak.js";
import { apiTokenRotateRoutes } from "./api-token-rotate.js";
import { apiTokensRoutes } from "./api-tokens.js";
import { apiUserRoutes } from "./api-user.js";
import { apiUserTokensRoutes } from "./api-user-tokens.js";
import { apiUsersRoutes } from "./api-users.js";
import { apiWebhookRoutes } from "./api-webhook.js";
import { apiWebhookDeliveriesRoutes } from "./api-webhook-deliveries.js";
import { apiWebhookTestRoutes } from "./api-webhook-test.js";
import { apiWebhooksRoutes } from "./api-webhooks.js";
import { authVerifyRoutes } from "./auth-verify.js";
import { crumbIssuerRoutes } from "./crumb-issuer.js";
import { healthRoutes } from "./health.js";
import { jenkinsIdentityRoutes } from "./jenkins-identity.js";
import { jenkinsTokenMethodRoutes } from "./jenkins-token-methods.js";
import { loginRoutes } from "./login.js";
import { uiAccountPasswordRoutes } from "./ui-account-password.js";
import { uiAccountServiceAccountRoutes } from "./ui-account-service-accounts.js";
import { uiAccountTokenRoutes } from "./ui-account-tokens.js";
import { uiBasicRoutes } from "./ui-basic.js";
import { uiManageAuditRoutes } from "./ui-manage-audit.js";
import { uiManageLegacyRoutes } from "./ui-manage-legacy.js";
import { uiManageSettingsRoutes } from "./ui-manage-settings.js";
import { uiManageUserRoutes } from "./ui-manage-user.js";
import { uiManageUsersRoutes } from "./ui-manage-users.js";
import { uiManageWebhookRoutes } from "./ui-manage-webhooks.js";

/**
 * The signed-in pages of the web UI: my account (/account) and administration (/manage). Tests walk
 * this list to check every form route (e.g. that each POST needs its crumb).
 */
export const UI_ROUTES: ReadonlyArray<(app: FastifyInstance, services: Services) => void> = [
  uiAccountTokenRoutes,
  uiAccountServiceAccountRoutes,
  uiAccountPasswordRoutes,
  uiManageUsersRoutes,
  uiManageUserRoutes,
  uiManageLegacyRoutes,
  uiManageSettingsRoutes,
  uiManageWebhookRoutes,
  uiManageAuditRoutes,
];

/** Every route of the server, by area. */
export function registerRoutes(app: FastifyInstance, services: Services): void {
  healthRoutes(app, services);
  crumbIssuerRoutes(app, services);
  jenkinsIdentityRoutes(app, services);
  jenkinsTokenMethodRoutes(app, services);
  loginRoutes(app, services);
  uiBasicRoutes(app, services);
  for (const register of UI_ROUTES) register(app, services);
  // The REST API under /api/v1: one encapsulated plugin (access rules, strict validation, OpenAPI).
  registerApiV1(app, services, [
    apiMeRoutes,
    apiTokensRoutes,
    apiTokenRoutes,
    apiTokenRotateRoutes,
    apiTokenLeakRoutes,
    apiUsersRoutes,
    apiUserRoutes,
    apiUserTokensRoutes,
    apiSettingsRoutes,
    apiAuditRoutes,
    // Audit notifications: where tokens are used from, expiry warnings, webhooks.
    apiTokenAddressesRoutes,
    apiExpiryWarningsRoutes,
    apiWebhooksRoutes,
    apiWebhookRoutes,
    apiWebhookDeliveriesRoutes,
    apiWebhookTestRoutes,
    apiOpenApiRoutes,
  ]);
  // Forward auth for reverse proxies (nginx auth_request, Traefik ForwardAuth, Caddy forward_auth).
  authVerifyRoutes(app, services);
}
