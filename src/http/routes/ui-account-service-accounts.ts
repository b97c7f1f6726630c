import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { notFound, type StewardError } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import { tokenView } from "../../service/views.js";
import type { UserRecord } from "../../store/store.js";
import type { PageContext } from "../../ui/layout.js";
import { serviceAccountPage } from "../../ui/pages-service-account.js";
import { EMPTY_TOKEN_FORM, type NewTokenForm, serviceAccountHref } from "../../ui/pages-tokens.js";
import { generateFromForm, SubmittedForms } from "./ui-account-tokens.js";
import { sendPage } from "./ui-basic.js";
import { accountPage, seeOther } from "./ui-support.js";
import { tokenActionRoutes } from "./ui-token-actions.js";

type AccountRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * "Service accounts I manage": the human owner of a service account lists, generates, rotates and
 * revokes its tokens (SPEC §1). Only the owner: for anyone else, administrators included, the account
 * is not found here (administrators manage it under /manage/users).
 */
export function uiAccountServiceAccountRoutes(app: FastifyInstance, services: Services): void {
  const { clock } = services.deps;
  const submitted = new SubmittedForms();

  async function managed(request: FastifyRequest, reply: FastifyReply) {
    const context = await accountPage(request, reply, services);
    const id = (request.params as { id?: string }).id ?? "";
    // ownerFor applies the shared rule (404 for accounts the caller may not manage); the page is the
    // owner's own, so an administrator who is not the owner gets 404 too.
    const account = await services.tokens.ownerFor(request.actor, id);
    const me = context.principal.userId.toLowerCase();
    if (account.kind !== "service" || account.ownerId?.toLowerCase() !== me)
      throw notFound("Service account");
    return { context, account };
  }

  async function render(
    reply: FastifyReply,
    context: PageContext,
    account: UserRecord,
    options: { error?: StewardError; form?: NewTokenForm } = {},
  ): Promise<FastifyReply> {
    const tokens = await services.tokens.list(account.id);
    const page = serviceAccountPage(context, {
      account,
      tokens: tokens.map((t) => tokenView(t, services.usage)),
      warnings: services.expiry.warningsFor(account, tokens),
      now: clock.now(),
      settings: services.deps.settings.current,
      nonce: SubmittedForms.nonce(services),
      form: options.form ?? EMPTY_TOKEN_FORM,
      error: options.error?.message ?? null,
      errorInAdd: options.error !== undefined,
    });
    return sendPage(reply, page, options.error?.status ?? 200);
  }

  app.get("/account/service-accounts", async (request, reply) => {
    await accountPage(request, reply, services);
    return seeOther(reply, "/account/tokens#service-accounts");
  });

  app.get("/account/service-accounts/:id", async (request: AccountRequest, reply) => {
    const { context, account } = await managed(request, reply);
    return render(reply, context, account);
  });

  app.post("/account/service-accounts/:id/tokens", async (request: AccountRequest, reply) => {
    const { context, account } = await managed(request, reply);
    return generateFromForm(
      services,
      submitted,
      request,
      reply,
      context,
      account,
      serviceAccountHref(account.id),
      (error, form) => render(reply, context, account, { error, form }),
    );
  });

  tokenActionRoutes(app, services, {
    route: "/account/service-accounts/:id/tokens/:tokenId",
    tokenParam: "tokenId",
    actions: ["rotate", "revoke", "addresses"],
    resolve: async (request, reply) => {
      const { context, account } = await managed(request, reply);
      return {
        context,
        owner: account,
        place: {
          listHref: serviceAccountHref(account.id),
          listLabel: account.id,
          ownerId: account.id,
          section: "tokens",
        },
        tokensPath: `${serviceAccountHref(account.id)}/tokens`,
      };
    },
  });
}
