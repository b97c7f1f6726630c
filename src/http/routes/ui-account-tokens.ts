import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { LRUCache } from "lru-cache";
import { parseCidrList } from "../../core/cidr.js";
import { invalid, notFound, type StewardError } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import type { NewTokenRequest } from "../../service/tokens.js";
import { tokenView } from "../../service/views.js";
import type { TokenRecord, UserRecord } from "../../store/store.js";
import type { PageContext } from "../../ui/layout.js";
import {
  EMPTY_TOKEN_FORM,
  type ManagedAccount,
  type NewTokenForm,
  splitCidrs,
  tokenAlreadyCreatedPage,
  tokenCreatedPage,
  tokensPage,
} from "../../ui/pages-tokens.js";
import { sendPage } from "./ui-basic.js";
import { accountPage, attempt, field, fieldList, seeOther } from "./ui-support.js";
import { tokenActionRoutes } from "./ui-token-actions.js";

type TokenRequest = FastifyRequest<{ Params: { id: string } }>;

/** Service accounts listed on one's token page (the rest are reachable by their path). */
const MANAGED_SHOWN = 50;

/** The "Add new Token" form as submitted, and the token request it stands for or why it is wrong. */
export function readTokenForm(
  body: unknown,
): { form: NewTokenForm; request: NewTokenRequest } | { form: NewTokenForm; error: StewardError } {
  const form: NewTokenForm = {
    name: field(body, "name"),
    expiresInDays: field(body, "expiresInDays").trim(),
    scopes: fieldList(body, "scopes"),
    allowedCidrs: field(body, "allowedCidrs"),
  };
  let expiresInSeconds: number | null = null;
  if (form.expiresInDays !== "") {
    const days = /^\d{1,4}$/.test(form.expiresInDays) ? Number(form.expiresInDays) : 0;
    if (days < 1 || days > 3660) {
      return { form, error: invalid("Expires in must be a whole number of days from 1 to 3660, or empty.") };
    }
    expiresInSeconds = days * 86400;
  }
  // No box ticked means no restriction (Jenkins' tokens have none); an empty list would allow nothing.
  const scopes = form.scopes.length > 0 ? form.scopes : null;
  // Likewise an empty allow-list means "from anywhere", never "from nowhere".
  const cidrs = splitCidrs(form.allowedCidrs);
  const parsed = parseCidrList(cidrs);
  if (!parsed.ok) return { form, error: invalid(`Allowed addresses: ${parsed.error}`) };
  const allowedCidrs = parsed.cidrs.length > 0 ? parsed.cidrs : null;
  return { form, request: { name: form.name, expiresInSeconds, scopes, allowedCidrs } };
}

/**
 * Remembers which "Add new Token" forms were already submitted, so a reload or double click of the
 * result never generates a second token silently nor shows any value again. Per process: behind a load
 * balancer a resubmission may reach another instance and create a token, but never reveals an old value.
 */
export class SubmittedForms {
  private readonly seen = new LRUCache<string, { name: string | null }>({ max: 10_000, ttl: 3600_000 });

  /** A fresh random nonce for a form. */
  static nonce(services: Services): string {
    return services.deps.random.bytes(18).toString("base64url");
  }

  /** Claims a nonce; returns what was created with it before, or null when this is the first use. */
  claim(userId: string, nonce: string): { name: string | null } | null {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return null;
    const key = `${userId.toLowerCase()}:${nonce}`;
    const before = this.seen.get(key);
    if (before) return before;
    this.seen.set(key, { name: null });
    return null;
  }

  done(userId: string, nonce: string, name: string): void {
    const key = `${userId.toLowerCase()}:${nonce}`;
    if (this.seen.has(key)) this.seen.set(key, { name });
  }

  release(userId: string, nonce: string): void {
    this.seen.delete(`${userId.toLowerCase()}:${nonce}`);
  }
}

/**
 * Generates a token from the "Add new Token" form for `owner` and answers with the value, once, in this
 * POST response; `onError` renders the form again with the message.
 */
export async function generateFromForm(
  services: Services,
  submitted: SubmittedForms,
  request: FastifyRequest,
  reply: FastifyReply,
  context: PageContext,
  owner: UserRecord,
  backHref: string,
  onError: (error: StewardError, form: NewTokenForm) => Promise<FastifyReply>,
): Promise<FastifyReply> {
  const parsed = readTokenForm(request.body);
  if ("error" in parsed) return onError(parsed.error, parsed.form);
  const me = context.principal.userId;
  const nonce = field(request.body, "nonce");
  const before = submitted.claim(me, nonce);
  if (before) {
    return sendPage(
      reply,
      tokenAlreadyCreatedPage(context, { name: before.name ?? parsed.form.name, backHref }),
      409,
    );
  }
  const result = await attempt(async () => {
    await services.tokens.assertMayCreateFor(request.actor, owner);
    return services.tokens.create(request.actor, owner, parsed.request);
  });
  if ("error" in result) {
    submitted.release(me, nonce);
    return onError(result.error, parsed.form);
  }
  const { token, value } = result.ok;
  submitted.done(me, nonce, token.name);
  return sendPage(
    reply,
    tokenCreatedPage(context, {
      ownerId: owner.id,
      name: token.name,
      value,
      expiresAt: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
      backHref,
    }),
  );
}

/** "My account → Configure → API Token": list, generate, rename and revoke one's own tokens. */
export function uiAccountTokenRoutes(app: FastifyInstance, services: Services): void {
  const { store, clock } = services.deps;
  const submitted = new SubmittedForms();

  async function renderList(
    reply: FastifyReply,
    context: PageContext,
    options: {
      form?: NewTokenForm;
      error?: StewardError;
      errorIn?: "add" | "rename";
    } = {},
  ): Promise<FastifyReply> {
    const me = await services.users.get(context.principal.userId);
    const tokens = await services.tokens.list(me.id);
    // The owner hears about the expiry of the service accounts' tokens too (SPEC: the warning names them).
    const warnings = services.expiry.warningsFor(me, tokens);
    const managed: ManagedAccount[] = [];
    for (const account of await services.users.managedBy(me.id, MANAGED_SHOWN)) {
      const theirs = await services.tokens.list(account.id);
      managed.push({ account, tokens: theirs.length });
      warnings.push(...services.expiry.warningsFor(account, theirs));
    }
    warnings.sort((a, b) => (a.expiresAt < b.expiresAt ? -1 : a.expiresAt > b.expiresAt ? 1 : 0));
    const page = tokensPage(context, {
      tokens: tokens.map((t) => tokenView(t, services.usage)),
      now: clock.now(),
      settings: services.deps.settings.current,
      warnings,
      managed,
      nonce: SubmittedForms.nonce(services),
      form: options.form ?? EMPTY_TOKEN_FORM,
      error: options.error?.message ?? null,
      errorIn: options.errorIn ?? null,
    });
    return sendPage(reply, page, options.error?.status ?? 200);
  }

  /** One of the caller's own live tokens; anything else is 404, whoever owns it. */
  async function ownToken(context: PageContext, id: string): Promise<TokenRecord> {
    const token = await store.getToken(id);
    if (
      !token ||
      token.userId.toLowerCase() !== context.principal.userId.toLowerCase() ||
      token.revokedAt !== null
    ) {
      throw notFound("Token");
    }
    return token;
  }

  app.get("/account", async (_request, reply) => seeOther(reply, "/account/tokens"));

  app.get("/account/tokens", async (request, reply) =>
    renderList(reply, await accountPage(request, reply, services)),
  );

  app.post("/account/tokens", async (request, reply) => {
    const context = await accountPage(request, reply, services);
    const owner = await services.users.get(context.principal.userId);
    return generateFromForm(
      services,
      submitted,
      request,
      reply,
      context,
      owner,
      "/account/tokens",
      (error, form) => renderList(reply, context, { error, form, errorIn: "add" }),
    );
  });

  app.post("/account/tokens/:id/rename", async (request: TokenRequest, reply) => {
    const context = await accountPage(request, reply, services);
    const token = await ownToken(context, request.params.id);
    const result = await attempt(() =>
      services.tokens.rename(request.actor, token, field(request.body, "newName")),
    );
    if ("error" in result) return renderList(reply, context, { error: result.error, errorIn: "rename" });
    return seeOther(reply, "/account/tokens?done=renamed");
  });

  // Rotate, revoke and "from where" for my own tokens.
  tokenActionRoutes(app, services, {
    route: "/account/tokens/:id",
    tokenParam: "id",
    actions: ["rotate", "revoke", "addresses"],
    resolve: async (request, reply) => {
      const context = await accountPage(request, reply, services);
      const owner = await services.users.get(context.principal.userId);
      return {
        context,
        owner,
        place: { listHref: "/account/tokens", listLabel: "API tokens", ownerId: owner.id, section: "tokens" },
        tokensPath: "/account/tokens",
      };
    },
  });
}
