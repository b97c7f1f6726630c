import type { UserRecord } from "../store/store.js";
import { link, notice, time, userSegment } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, type PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";

export interface UsersPageOptions {
  users: readonly UserRecord[];
  search: string;
  kind: "" | "user" | "service";
  /** The id this page starts after (keyset paging), "" on the first page. */
  after: string;
  /** The cursor of the next page, or null on the last one. */
  next: string | null;
}

function kindText(user: UserRecord): Html {
  if (user.kind === "user") return html`User`;
  return html`Service account${user.ownerId ? html` <span class="muted">(owner ${user.ownerId})</span>` : ""}`;
}

/** Users and service accounts: search by id, name or email; forward paging. */
export function usersPage(context: PageContext, options: UsersPageOptions): Html {
  const query = { q: options.search, kind: options.kind };
  return managePage(
    "Users",
    context,
    "users",
    html`<h1>Users and service accounts</h1>
<p class="actions-row"><a class="button" href="/manage/new-user">Create user</a> <a class="button" href="/manage/new-user?kind=service">Create service account</a></p>
<form method="get" action="/manage/users" class="card search" role="search">
  <div><label for="user-search">Search id, name or email</label>
  <input id="user-search" name="q" type="search" value="${options.search}"></div>
  <div><label for="user-kind">Kind</label>
  <select id="user-kind" name="kind">
    <option value=""${options.kind === "" ? html` selected` : ""}>All</option>
    <option value="user"${options.kind === "user" ? html` selected` : ""}>Users</option>
    <option value="service"${options.kind === "service" ? html` selected` : ""}>Service accounts</option>
  </select></div>
  <div><button type="submit">Search</button></div>
</form>
${
  options.users.length === 0
    ? html`<p class="muted">No account matches.</p>`
    : html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">Users and service accounts</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Full name</th><th scope="col">Email</th><th scope="col">Kind</th><th scope="col">Roles</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
<tbody>
${options.users.map(
  (u) => html`<tr>
<td data-label="Id"><a href="/manage/users/${userSegment(u.id)}">${u.id}</a></td>
<td data-label="Full name">${u.fullName}</td>
<td data-label="Email">${u.email ?? html`<span class="muted">—</span>`}</td>
<td data-label="Kind">${kindText(u)}</td>
<td data-label="Roles">${u.roles.join(", ")}</td>
<td data-label="Status">${u.disabled ? html`<span class="badge danger">disabled</span>` : "active"}</td>
<td data-label="Created">${time(u.createdAt)}</td>
</tr>`,
)}
</tbody></table></div>`
}
<nav class="pager" aria-label="Pages">
${options.after !== "" ? html`<a href="${link("/manage/users", query)}">First page</a>` : ""}
${options.next !== null ? html`<a href="${link("/manage/users", { ...query, after: options.next })}">Next page</a>` : ""}
</nav>`,
  );
}

export interface NewUserForm {
  kind: "user" | "service";
  id: string;
  fullName: string;
  email: string;
  admin: boolean;
  mustChangePassword: boolean;
  ownerId: string;
}

export const EMPTY_USER_FORM: Omit<NewUserForm, "kind"> = {
  id: "",
  fullName: "",
  email: "",
  admin: false,
  mustChangePassword: false,
  ownerId: "",
};

/** Create a user (with a password) or a service account (no password, an owner who manages its tokens). */
export function newUserPage(
  context: PageContext,
  options: { form: NewUserForm; error: string | null },
): Html {
  const { form } = options;
  const service = form.kind === "service";
  const title = service ? "Create service account" : "Create user";
  return managePage(
    title,
    context,
    "users",
    html`<p class="crumbs"><a href="/manage/users">Users</a> › <span>${title}</span></p>
<h1>${title}</h1>
${
  service
    ? html`<p>A service account cannot sign in; it exists to own tokens for a job or a tool. Its owner manages its tokens.</p>`
    : ""
}
${options.error ? notice("error", options.error) : ""}
<form method="post" action="/manage/new-user" class="card">
  ${crumbField(context)}
  <input type="hidden" name="kind" value="${form.kind}">
  <label for="new-id">${service ? "Account id" : "User id"}</label>
  <input id="new-id" name="id" type="text" required maxlength="64" pattern="[A-Za-z0-9._@\\-]{1,64}" value="${form.id}" autocomplete="off" aria-describedby="new-id-hint">
  <p id="new-id-hint" class="hint">1 to 64 letters, digits, ".", "_", "@" or "-". Used to sign in and with tokens; not case-sensitive.</p>
  <label for="new-name">Full name</label>
  <input id="new-name" name="fullName" type="text" maxlength="200" value="${form.fullName}">
  ${
    service
      ? html`<label for="new-owner">Owner (user id, optional)</label>
  <input id="new-owner" name="ownerId" type="text" maxlength="64" value="${form.ownerId}" aria-describedby="new-owner-hint">
  <p id="new-owner-hint" class="hint">This user may list, generate and revoke the account's tokens.</p>`
      : html`<label for="new-email">Email (optional)</label>
  <input id="new-email" name="email" type="email" maxlength="320" value="${form.email}">
  <label for="new-password">Password</label>
  <input id="new-password" name="password" type="password" minlength="8" maxlength="1024" required autocomplete="new-password" aria-describedby="new-password-hint">
  <p id="new-password-hint" class="hint">At least 8 characters. Give it to the user through a safe channel.</p>
  <div class="check"><input id="new-must-change" name="mustChangePassword" type="checkbox" value="on"${form.mustChangePassword ? html` checked` : ""}>
  <label for="new-must-change">Ask for a new password at first sign-in</label></div>`
  }
  <div class="check"><input id="new-admin" name="admin" type="checkbox" value="on"${form.admin ? html` checked` : ""}>
  <label for="new-admin">Administrator <span class="muted">(manages users, tokens, policy and the audit log)</span></label></div>
  <p><button type="submit">${title}</button> <a class="button secondary" href="/manage/users">Cancel</a></p>
</form>`,
  );
}
