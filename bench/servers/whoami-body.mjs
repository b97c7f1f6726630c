// The body Steward answers to an authenticated `GET /whoAmI/api/json`, so the bare servers send as many bytes.
export const WHOAMI_BODY = JSON.stringify({
  _class: "hudson.security.WhoAmI",
  anonymous: false,
  authenticated: true,
  authorities: ["authenticated"],
  name: "seed-user-0000000",
});
export const JSON_TYPE = "application/json;charset=utf-8";
