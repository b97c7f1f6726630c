/** Which error shape and status conventions a path follows. */
export type Surface = "api" | "jenkins" | "ui";

const UI_PREFIXES = ["/login", "/loginError", "/logout", "/account", "/manage", "/static"];

export function surfaceOf(url: string): Surface {
  const path = url.split("?", 1)[0]!;
  if (
    path.startsWith("/api/v1") ||
    path.startsWith("/auth/") ||
    path === "/healthz" ||
    path === "/readyz" ||
    path === "/metrics"
  )
    return "api";
  if (path === "/" || UI_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return "ui";
  return "jenkins";
}
