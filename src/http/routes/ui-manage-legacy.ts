import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Services } from "../../service/services.js";
import { tokenView } from "../../service/views.js";
import type { LegacyHolder } from "../../ui/pages-legacy.js";
import { legacyTokensPage } from "../../ui/pages-legacy.js";
import { sendPage } from "./ui-basic.js";
import { adminPage, fieldList, seeOther } from "./ui-support.js";

/** Users looked at per request, and holders shown per page: each request's work stays bounded. */
const SCAN_BATCH = 200;
const SCAN_LIMIT = 1000;
const HOLDERS_PER_PAGE = 50;

/** Jenkins' legacy-token monitor: who still holds a legacy token, and a bulk revoke. */
export function uiManageLegacyRoutes(app: FastifyInstance, services: Services): void {
  const { store } = services.deps;

  app.get<{ Querystring: { after?: unknown } }>("/manage/legacy-tokens", async (request, reply) => {
    const context = await adminPage(request, reply, services);
    const start = typeof request.query.after === "string" ? request.query.after.slice(0, 64) : "";
    // The store has no index of token formats, so the users are walked in id order, a bounded part per
    // request, with a cursor to continue.
    const holders: LegacyHolder[] = [];
    let after = start;
    let scanned = 0;
    let more = true;
    scan: while (scanned < SCAN_LIMIT) {
      const users = await store.listUsers({ limit: SCAN_BATCH, ...(after ? { after } : {}) });
      for (const user of users) {
        scanned++;
        after = user.id;
        const legacy = (await store.listTokens(user.id)).filter((t) => t.format === "legacy");
        if (legacy.length > 0) {
          holders.push({ user, tokens: legacy.map((t) => tokenView(t, services.usage)) });
          if (holders.length >= HOLDERS_PER_PAGE) break scan;
        }
      }
      if (users.length < SCAN_BATCH) {
        more = false;
        break;
      }
    }
    return sendPage(
      reply,
      legacyTokensPage(context, {
        holders,
        after: start,
        next: more ? after : null,
        legacyEnabled: services.deps.settings.current.legacyTokensEnabled,
      }),
    );
  });

  app.post("/manage/legacy-tokens/revoke", async (request: FastifyRequest, reply) => {
    await adminPage(request, reply, services);
    for (const id of fieldList(request.body, "users").slice(0, HOLDERS_PER_PAGE * 4)) {
      const user = await store.getUser(id);
      if (!user) continue;
      for (const token of await store.listTokens(user.id)) {
        if (token.format === "legacy") await services.tokens.revoke(request.actor, token);
      }
    }
    return seeOther(reply, "/manage/legacy-tokens?done=legacy-revoked");
  });
}
