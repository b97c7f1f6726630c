import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { invalid, notFound, StewardError } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import { tokenView } from "../../service/views.js";
import type { TokenRecord, UserRecord } from "../../store/store.js";
import { userSegment } from "../../ui/format.js";
import { html } from "../../ui/html.js";
import type { PageContext } from "../../ui/layout.js";
import { confirmPage } from "../../ui/pages-confirm.js";
import { EMPTY_TOKEN_FORM, type NewTokenForm } from "../../ui/pages-tokens.js";
import { userPage } from "../../ui/pages-user.js";
import { generateFromForm, SubmittedForms } from "./ui-account-tokens.js";
import { sendPage } from "./ui-basic.js";
import { adminPage, attempt, field, seeOther } from "./ui-support.js";
import { tokenActionRoutes } from "./ui-token-actions.js";

type UserRequest = FastifyRequest<{ Params: { id: string } }>;
type UserTokenRequest = FastifyRequest<{ Params: { id: string; tokenId: string } }>;

/** One user or service account, administered: roles, status, password, tokens, deletion. */
export function uiManageUserRoutes(app: FastifyInstance, services: Services): void {
  const { store, clock } = services.deps;
  const submitted = new SubmittedForms();
  const base = (user: UserRecord) => `/manage/users/${userSegment(user.id)}`;

  async function mayGenerate(request: FastifyRequest, user: UserRecord): Promise<boolean> {
    try {
      await services.tokens.assertMayCreateFor(request.actor, user);
      return true;
    } catch (error) {
      if (error instanceof StewardError && error.code === "forbidden") return false;
      throw error;
    }
  }

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    context: PageContext,
    user: UserRecord,
    options: { error?: StewardError; errorIn?: "add" | "other"; form?: NewTokenForm } = {},
  ): Promise<FastifyReply> {
    const tokens = await services.tokens.list(user.id);
    const page = userPage(context, {
      user,
      tokens: tokens.map((t) => tokenView(t, services.usage)),
      now: clock.now(),
      canGenerate: await mayGenerate(request, user),
      settings: services.deps.settings.current,
      nonce: SubmittedForms.nonce(services),
      form: options.form ?? EMPTY_TOKEN_FORM,
      error: options.error?.message ?? null,
      errorIn: options.errorIn ?? null,
    });
    return sendPage(reply, page, options.error?.status ?? 200);
  }

  /** Runs a change on the user; success → back to its page with `done`, a fixable error → shown there. */
  async function change(
    request: UserRequest,
    reply: FastifyReply,
    done: string,
    run: (user: UserRecord) => Promise<unknown>,
  ): Promise<FastifyReply> {
    const context = await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    const result = await attempt(() => run(user));
    if ("error" in result) {
      return render(request, reply, context, await services.users.get(user.id), {
        error: result.error,
        errorIn: "other",
      });
    }
    return seeOther(reply, `${base(user)}?done=${done}`);
  }

  /** A live token of the user in the path; anything else is 404. */
  async function tokenOf(user: UserRecord, tokenId: string): Promise<TokenRecord> {
    const token = await store.getToken(tokenId);
    if (!token || token.userId !== user.id || token.revokedAt !== null) throw notFound("Token");
    return token;
  }

  app.get("/manage/users/:id", async (request: UserRequest, reply) => {
    const context = await adminPage(request, reply, services);
    return render(request, reply, context, await services.users.get(request.params.id));
  });

  app.post("/manage/users/:id/roles", async (request: UserRequest, reply) =>
    change(request, reply, "roles", (user) =>
      services.users.update(request.actor, user.id, {
        roles: field(request.body, "admin") === "on" ? ["admin", "user"] : ["user"],
      }),
    ),
  );

  app.post("/manage/users/:id/disable", async (request: UserRequest, reply) =>
    change(request, reply, "disabled", (user) =>
      services.users.update(request.actor, user.id, { disabled: true }),
    ),
  );

  app.post("/manage/users/:id/enable", async (request: UserRequest, reply) =>
    change(request, reply, "enabled", (user) =>
      services.users.update(request.actor, user.id, { disabled: false }),
    ),
  );

  app.post("/manage/users/:id/password", async (request: UserRequest, reply) =>
    change(request, reply, "user-password", async (user) => {
      const password = field(request.body, "password");
      if (password !== field(request.body, "confirm"))
        throw invalid("The new password and its confirmation differ.");
      await services.users.setPassword(request.actor, user.id, password);
    }),
  );

  app.post("/manage/users/:id/tokens", async (request: UserRequest, reply) => {
    const context = await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    return generateFromForm(services, submitted, request, reply, context, user, base(user), (error, form) =>
      render(request, reply, context, user, { error, form, errorIn: "add" }),
    );
  });

  app.get("/manage/users/:id/tokens/:tokenId/revoke", async (request: UserTokenRequest, reply) => {
    const context = await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    const token = await tokenOf(user, request.params.tokenId);
    return sendPage(
      reply,
      confirmPage(context, {
        title: "Revoke token",
        question: html`<p>Revoke the token <strong class="token-name">${token.name}</strong> of <strong>${user.id}</strong>?</p>
<p>Every script or tool that uses it is refused from now on. This cannot be undone.</p>`,
        action: `${base(user)}/tokens/${token.id}/revoke`,
        confirmLabel: "Revoke token",
        cancelHref: base(user),
      }),
    );
  });

  app.post("/manage/users/:id/tokens/:tokenId/revoke", async (request: UserTokenRequest, reply) => {
    await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    const token = await tokenOf(user, request.params.tokenId);
    if (!(await services.tokens.revoke(request.actor, token))) throw notFound("Token");
    return seeOther(reply, `${base(user)}?done=revoked`);
  });

  app.get("/manage/users/:id/tokens/revoke-all", async (request: UserRequest, reply) => {
    const context = await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    const count = (await services.tokens.list(user.id)).length;
    return sendPage(
      reply,
      confirmPage(context, {
        title: "Revoke all tokens",
        question: html`<p>Revoke all ${count} live ${count === 1 ? "token" : "tokens"} of <strong>${user.id}</strong>?</p>
<p>Every script or tool that uses them is refused from now on. This cannot be undone.</p>`,
        action: `${base(user)}/tokens/revoke-all`,
        confirmLabel: "Revoke all tokens",
        cancelHref: base(user),
      }),
    );
  });

  app.post("/manage/users/:id/tokens/revoke-all", async (request: UserRequest, reply) => {
    await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    await services.tokens.revokeAll(request.actor, user, null);
    return seeOther(reply, `${base(user)}?done=revoked-all`);
  });

  // Who used a token, from where, and when it changed: its addresses and its recent events.
  tokenActionRoutes(app, services, {
    route: "/manage/users/:id/tokens/:tokenId",
    tokenParam: "tokenId",
    actions: ["addresses"],
    showEvents: true,
    resolve: async (request, reply) => {
      const context = await adminPage(request, reply, services);
      const user = await services.users.get((request.params as { id: string }).id);
      return {
        context,
        owner: user,
        place: { listHref: base(user), listLabel: user.id, ownerId: user.id, section: "manage" },
        tokensPath: `${base(user)}/tokens`,
      };
    },
  });

  function refuseSelf(request: FastifyRequest, user: UserRecord): void {
    if (user.id.toLowerCase() === request.principal.userId.toLowerCase()) {
      throw new StewardError("conflict", "You cannot delete your own account while signed in with it.");
    }
  }

  app.get("/manage/users/:id/delete", async (request: UserRequest, reply) => {
    const context = await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    refuseSelf(request, user);
    const count = (await services.tokens.list(user.id)).length;
    return sendPage(
      reply,
      confirmPage(context, {
        title: "Delete user",
        question: html`<p>Delete <strong>${user.fullName}</strong> (${user.id})?</p>
<p>The account, its ${count} live ${count === 1 ? "token" : "tokens"} and its sessions are removed at once. This cannot be undone.</p>`,
        action: `${base(user)}/delete`,
        confirmLabel: `Delete ${user.id}`,
        cancelHref: base(user),
      }),
    );
  });

  app.post("/manage/users/:id/delete", async (request: UserRequest, reply) => {
    const context = await adminPage(request, reply, services);
    const user = await services.users.get(request.params.id);
    refuseSelf(request, user);
    const result = await attempt(() => services.users.delete(request.actor, user.id));
    if ("error" in result)
      return render(request, reply, context, user, { error: result.error, errorIn: "other" });
    return seeOther(reply, "/manage/users?done=user-deleted");
  });
}
