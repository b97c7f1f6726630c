import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { invalid, type StewardError } from "../../core/errors.js";
import { requireScope } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import { html } from "../../ui/html.js";
import type { PageContext } from "../../ui/layout.js";
import { confirmPage } from "../../ui/pages-confirm.js";
import {
  EMPTY_WEBHOOK_FORM,
  type WebhookForm,
  webhookAlreadyCreatedPage,
  webhookCreatedPage,
  webhookHref,
  webhookPage,
  webhooksPage,
} from "../../ui/pages-webhooks.js";
import { SubmittedForms } from "./ui-account-tokens.js";
import { sendPage } from "./ui-basic.js";
import { adminPage, attempt, field, fieldList, seeOther } from "./ui-support.js";

const PAGE_SIZE = 25;

type WebhookRequest = FastifyRequest<{ Params: { id: string }; Querystring: { before?: unknown } }>;

/** The filters of the form: the boxes ticked and those typed, in that order. */
function filtersOf(form: WebhookForm): string[] {
  const typed = form.moreEvents.split(/[\s,]+/).filter((e) => e !== "");
  return [...form.events, ...typed];
}

/**
 * Webhooks (admin, as `/api/v1/webhooks`): list, add (the signing secret shown once, in the POST
 * response), delete after a confirmation, the delivery log of each, and a test delivery.
 */
export function uiManageWebhookRoutes(app: FastifyInstance, services: Services): void {
  const submitted = new SubmittedForms();

  /** Administrators, and (as in the REST API) the permission to change settings. */
  async function webhookAdmin(request: FastifyRequest, reply: FastifyReply): Promise<PageContext> {
    const context = await adminPage(request, reply, services);
    requireScope(request.principal, "settings:write");
    return context;
  }

  async function renderList(
    reply: FastifyReply,
    context: PageContext,
    options: { form?: WebhookForm; error?: StewardError } = {},
  ): Promise<FastifyReply> {
    const page = webhooksPage(context, {
      webhooks: await services.webhooks.list(),
      form: options.form ?? EMPTY_WEBHOOK_FORM,
      nonce: SubmittedForms.nonce(services),
      error: options.error?.message ?? null,
    });
    return sendPage(reply, page, options.error?.status ?? 200);
  }

  app.get("/manage/webhooks", async (request, reply) =>
    renderList(reply, await webhookAdmin(request, reply)),
  );

  app.post("/manage/webhooks", async (request, reply) => {
    const context = await webhookAdmin(request, reply);
    const body = request.body;
    const form: WebhookForm = {
      url: field(body, "url").trim(),
      events: fieldList(body, "events"),
      moreEvents: field(body, "moreEvents"),
    };
    const me = context.principal.userId;
    const nonce = field(body, "nonce");
    const before = submitted.claim(me, nonce);
    if (before) {
      return sendPage(reply, webhookAlreadyCreatedPage(context, { url: before.name ?? form.url }), 409);
    }
    const result = await attempt(async () => {
      const events = filtersOf(form);
      if (events.length === 0) throw invalid("Choose at least one event to send, or type one.");
      return services.webhooks.create(request.actor, { url: form.url, events });
    });
    if ("error" in result) {
      submitted.release(me, nonce);
      return renderList(reply, context, { form, error: result.error });
    }
    submitted.done(me, nonce, result.ok.webhook.url);
    return sendPage(reply, webhookCreatedPage(context, result.ok));
  });

  app.get("/manage/webhooks/:id", async (request: WebhookRequest, reply) => {
    const context = await webhookAdmin(request, reply);
    const webhook = await services.webhooks.get(request.params.id);
    const text = typeof request.query.before === "string" ? request.query.before : "";
    const before = /^[1-9]\d{0,14}$/.test(text) ? Number(text) : undefined;
    // One more than a page tells whether there are older deliveries without counting.
    const deliveries = await services.webhooks.deliveries(webhook.id, { before, limit: PAGE_SIZE + 1 });
    const page = deliveries.slice(0, PAGE_SIZE);
    return sendPage(
      reply,
      webhookPage(context, {
        webhook,
        deliveries: page,
        paged: before !== undefined,
        next: deliveries.length > PAGE_SIZE ? page[page.length - 1]!.id : null,
      }),
    );
  });

  app.post("/manage/webhooks/:id/test", async (request: WebhookRequest, reply) => {
    await webhookAdmin(request, reply);
    const webhook = await services.webhooks.get(request.params.id);
    await services.webhooks.test(request.actor, webhook.id);
    return seeOther(reply, `${webhookHref(webhook.id)}?done=webhook-tested`);
  });

  app.get("/manage/webhooks/:id/delete", async (request: WebhookRequest, reply) => {
    const context = await webhookAdmin(request, reply);
    const webhook = await services.webhooks.get(request.params.id);
    return sendPage(
      reply,
      confirmPage(context, {
        title: "Delete webhook",
        question: html`<p>Delete the webhook for <strong class="url">${webhook.url}</strong>?</p>
<p>Nothing more is sent to it; its queued deliveries and its delivery log are deleted too. This cannot be undone.</p>`,
        action: `${webhookHref(webhook.id)}/delete`,
        confirmLabel: "Delete webhook",
        cancelHref: webhookHref(webhook.id),
      }),
    );
  });

  app.post("/manage/webhooks/:id/delete", async (request: WebhookRequest, reply) => {
    await webhookAdmin(request, reply);
    await services.webhooks.delete(request.actor, request.params.id);
    return seeOther(reply, "/manage/webhooks?done=webhook-deleted");
  });
}
