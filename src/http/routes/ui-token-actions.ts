import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ADDRESSES_PER_TOKEN } from "../../auth/usage-recorder.js";
import { invalid, notFound, type StewardError } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import { tokenAddresses } from "../../service/token-addresses.js";
import { tokenView } from "../../service/views.js";
import type { TokenRecord, UserRecord } from "../../store/store.js";
import { formatDuration } from "../../ui/format.js";
import { html } from "../../ui/html.js";
import type { PageContext } from "../../ui/layout.js";
import { confirmPage } from "../../ui/pages-confirm.js";
import {
  alreadyRotatedPage,
  graceNote,
  rotatePage,
  type TokenPlace,
  tokenAddressesPage,
} from "../../ui/pages-token-actions.js";
import { tokenCreatedPage } from "../../ui/pages-tokens.js";
import { sendPage } from "./ui-basic.js";
import { attempt, field, seeOther } from "./ui-support.js";

export type TokenAction = "rotate" | "revoke" | "addresses";

/** Who the signed-in user manages tokens for on these pages, and where those pages are. */
export interface TokenOwnerPages {
  context: PageContext;
  owner: UserRecord;
  place: Omit<TokenPlace, "tokenBase">;
  /** The path the token ids hang under, e.g. `/account/tokens`. */
  tokensPath: string;
}

export interface TokenActionOptions {
  /** The route of one token, e.g. `/account/tokens/:id`; its pages are below it. */
  route: string;
  /** The name of the token id parameter in `route`. */
  tokenParam: string;
  /** The page context and the owner; throws (403, 404) when the caller may not manage its tokens. */
  resolve: (request: FastifyRequest, reply: FastifyReply) => Promise<TokenOwnerPages>;
  actions: readonly TokenAction[];
  /** Whether the addresses page also lists the token's audit events (for administrators). */
  showEvents?: boolean;
}

const RECENT_EVENTS = 20;

/**
 * The pages of one token shared by "my tokens", "a service account I manage" and the administration:
 * rotate (with a grace period, the new value shown once), revoke (after a confirmation) and where it was
 * used from. Every token is looked up under its owner: another owner's token id is a 404.
 */
export function tokenActionRoutes(
  app: FastifyInstance,
  services: Services,
  options: TokenActionOptions,
): void {
  const { store, settings } = services.deps;

  async function load(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<TokenOwnerPages & { token: TokenRecord; place: TokenPlace }> {
    const pages = await options.resolve(request, reply);
    const id = (request.params as Record<string, string>)[options.tokenParam] ?? "";
    const token = await store.getToken(id);
    if (!token || token.userId.toLowerCase() !== pages.owner.id.toLowerCase()) throw notFound("Token");
    return { ...pages, token, place: { ...pages.place, tokenBase: `${pages.tokensPath}/${token.id}` } };
  }

  const live = (token: TokenRecord) => token.revokedAt === null;

  if (options.actions.includes("addresses")) {
    app.get(`${options.route}/addresses`, async (request, reply) => {
      const { context, token, place } = await load(request, reply);
      const events = options.showEvents
        ? await store.queryAudit({ tokenId: token.id, limit: RECENT_EVENTS })
        : null;
      return sendPage(
        reply,
        tokenAddressesPage(context, {
          place,
          token: tokenView(token, services.usage),
          addresses: await tokenAddresses(store, services.usage, token.id),
          kept: ADDRESSES_PER_TOKEN,
          granularity: settings.current.newAddressGranularity,
          events,
        }),
      );
    });
  }

  if (options.actions.includes("rotate")) {
    const renderRotate = (
      reply: FastifyReply,
      context: PageContext,
      place: TokenPlace,
      token: TokenRecord,
      graceSeconds: number,
      error: StewardError | null,
    ): FastifyReply => {
      const page = rotatePage(context, {
        place,
        token: tokenView(token, services.usage),
        maxGraceSeconds: settings.current.maxRotationGraceSeconds,
        graceSeconds,
        error: error?.message ?? null,
      });
      return sendPage(reply, page, error?.status ?? 200);
    };

    app.get(`${options.route}/rotate`, async (request, reply) => {
      const { context, token, place } = await load(request, reply);
      // Back to the form of a token rotated since: say so rather than "not found".
      if (token.replacedBy !== null)
        return sendPage(reply, alreadyRotatedPage(context, { place, name: token.name }), 409);
      if (!live(token)) throw notFound("Token");
      return renderRotate(reply, context, place, token, 0, null);
    });

    app.post(`${options.route}/rotate`, async (request, reply) => {
      const { context, owner, token, place } = await load(request, reply);
      // A reload of the result sends the form again: the new value was shown once and stays hidden.
      // The service would also refuse, but would record the resubmission as a suspicious replay.
      if (token.replacedBy !== null)
        return sendPage(reply, alreadyRotatedPage(context, { place, name: token.name }), 409);
      if (!live(token)) throw notFound("Token");
      const max = settings.current.maxRotationGraceSeconds;
      const text = field(request.body, "graceSeconds").trim();
      const graceSeconds = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
      const result = await attempt(async () => {
        if (Number.isNaN(graceSeconds)) throw invalid("Choose how long the old value may keep working.");
        if (graceSeconds > max) {
          throw invalid(
            max === 0
              ? "The token policy allows no grace period: the old value must stop at once."
              : `The token policy allows a grace period of at most ${formatDuration(max)}.`,
          );
        }
        return services.tokens.rotate(request.actor, token, graceSeconds);
      });
      if ("error" in result) {
        const chosen = Number.isNaN(graceSeconds) ? 0 : graceSeconds;
        return renderRotate(reply, context, place, token, chosen, result.error);
      }
      const { token: next, value } = result.ok;
      const old = await store.getToken(token.id);
      return sendPage(
        reply,
        tokenCreatedPage(context, {
          ownerId: owner.id,
          name: next.name,
          value,
          expiresAt: next.expiresAt === null ? null : new Date(next.expiresAt).toISOString(),
          backHref: place.listHref,
          title: "Token rotated",
          note: graceNote(old?.graceUntil ?? null),
        }),
      );
    });
  }

  if (options.actions.includes("revoke")) {
    app.get(`${options.route}/revoke`, async (request, reply) => {
      const { context, owner, token, place } = await load(request, reply);
      if (!live(token)) throw notFound("Token");
      const mine = owner.id.toLowerCase() === context.principal.userId.toLowerCase();
      return sendPage(
        reply,
        confirmPage(context, {
          title: "Revoke token",
          section: place.section,
          question: html`<p>Revoke the token <strong class="token-name">${token.name}</strong>${mine ? "" : html` of <strong>${owner.id}</strong>`}?</p>
<p>Every script or tool that uses it is refused from now on. This cannot be undone.</p>`,
          action: `${place.tokenBase}/revoke`,
          confirmLabel: "Revoke token",
          cancelHref: place.listHref,
        }),
      );
    });

    app.post(`${options.route}/revoke`, async (request, reply) => {
      const { token, place } = await load(request, reply);
      if (!live(token) || !(await services.tokens.revoke(request.actor, token))) throw notFound("Token");
      return seeOther(reply, `${place.listHref}?done=revoked`);
    });
  }
}
