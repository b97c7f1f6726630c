import type { FastifyInstance, FastifyRequest } from "fastify";
import { invalid } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import { userSegment } from "../../ui/format.js";
import { manageHomePage } from "../../ui/pages-manage.js";
import { EMPTY_USER_FORM, type NewUserForm, newUserPage, usersPage } from "../../ui/pages-users.js";
import { sendPage } from "./ui-basic.js";
import { adminPage, attempt, field, seeOther } from "./ui-support.js";

const PAGE_SIZE = 25;

type ListRequest = FastifyRequest<{ Querystring: { q?: unknown; kind?: unknown; after?: unknown } }>;

function text(value: unknown, max: number): string {
  return typeof value === "string" ? value.trim().slice(0, max) : "";
}

/** The administration overview, the list of users and service accounts, and the forms that create them. */
export function uiManageUsersRoutes(app: FastifyInstance, services: Services): void {
  const { store } = services.deps;

  app.get("/manage", async (request, reply) => {
    const context = await adminPage(request, reply, services);
    return sendPage(reply, manageHomePage(context, { users: await store.countUsers() }));
  });

  app.get("/manage/users", async (request: ListRequest, reply) => {
    const context = await adminPage(request, reply, services);
    const search = text(request.query.q, 100);
    const kind = request.query.kind === "user" || request.query.kind === "service" ? request.query.kind : "";
    const after = text(request.query.after, 64);
    // One more than a page tells whether there is a next page without counting.
    const users = await store.listUsers({
      limit: PAGE_SIZE + 1,
      ...(search ? { search } : {}),
      ...(kind ? { kind } : {}),
      ...(after ? { after } : {}),
    });
    const page = users.slice(0, PAGE_SIZE);
    const next = users.length > PAGE_SIZE ? page[page.length - 1]!.id : null;
    return sendPage(reply, usersPage(context, { users: page, search, kind, after, next }));
  });

  // Not under /manage/users/, where every name is a user id: a user may be called "new".
  app.get<{ Querystring: { kind?: unknown } }>("/manage/new-user", async (request, reply) => {
    const context = await adminPage(request, reply, services);
    const kind = request.query.kind === "service" ? "service" : "user";
    return sendPage(reply, newUserPage(context, { form: { ...EMPTY_USER_FORM, kind }, error: null }));
  });

  app.post("/manage/new-user", async (request, reply) => {
    const context = await adminPage(request, reply, services);
    const body = request.body;
    const form: NewUserForm = {
      kind: field(body, "kind") === "service" ? "service" : "user",
      id: field(body, "id").trim(),
      fullName: field(body, "fullName"),
      email: field(body, "email").trim(),
      admin: field(body, "admin") === "on",
      mustChangePassword: field(body, "mustChangePassword") === "on",
      ownerId: field(body, "ownerId").trim(),
    };
    const service = form.kind === "service";
    const password = field(body, "password");
    const result = await attempt(async () => {
      // The service would create a user without a password, who could never sign in: say so instead.
      if (!service && password === "")
        throw invalid("A user needs a password to sign in.", { field: "password" });
      return services.users.create(request.actor, {
        id: form.id,
        fullName: form.fullName,
        kind: form.kind,
        roles: form.admin ? ["admin", "user"] : ["user"],
        ...(service
          ? { ownerId: form.ownerId || null }
          : {
              email: form.email || null,
              password,
              mustChangePassword: form.mustChangePassword,
            }),
      });
    });
    if ("error" in result) {
      return sendPage(
        reply,
        newUserPage(context, { form, error: result.error.message }),
        result.error.status,
      );
    }
    const done = service ? "service-created" : "user-created";
    return seeOther(reply, `/manage/users/${userSegment(result.ok.id)}?done=${done}`);
  });
}
