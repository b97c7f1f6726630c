/**
 * A Fastify app whose routes are protected by Steward API tokens, in-process (SPEC §8).
 *
 *   npm run build
 *   node bin/steward.js user add alice --password-stdin <<< 'a-long-password'
 *   node bin/steward.js token create alice            # prints the token once
 *   PORT=3000 node examples/fastify-app.mjs
 *   curl -H "Authorization: Bearer stw_…" http://127.0.0.1:3000/hello
 *
 * It uses the same database as `steward serve` (STEWARD_DATA_DIR, or STEWARD_DATABASE_URL for
 * PostgreSQL): a token revoked there is refused here at once.
 */
import Fastify from "fastify";
import { createSteward } from "steward";

const steward = await createSteward({
  dataDir: process.env.STEWARD_DATA_DIR ?? "./data",
  databaseUrl: process.env.STEWARD_DATABASE_URL || undefined,
});

const app = Fastify();

// Every request: request.stewardPrincipal is the token's owner, or null.
await app.register(steward.fastifyPlugin);
app.get("/public", async (request) => ({ hello: request.stewardPrincipal?.userId ?? "stranger" }));

// This scope only: no valid token → 401 (403 outside the token's allow-list) before any handler.
await app.register(async (api) => {
  await api.register(steward.fastifyPlugin, { required: true });
  api.get("/hello", async (request) => {
    const { userId, tokenId, scopes } = request.stewardPrincipal;
    return { hello: userId, tokenId, scopes: scopes ?? "all" };
  });
});

app.addHook("onClose", () => steward.close());
const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" });
console.log(`Example app listening on ${url}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  // app.close() runs the onClose hook: Steward writes the usage statistics still in memory.
  process.once(signal, () => app.close().then(() => process.exit(0)));
}
