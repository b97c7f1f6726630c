/**
 * An Express app whose routes are protected by Steward API tokens, in-process (SPEC §8).
 *
 *   npm run build
 *   node bin/steward.js user add alice --password-stdin <<< 'a-long-password'
 *   node bin/steward.js token create alice            # prints the token once
 *   PORT=3000 node examples/express-app.mjs
 *   curl -H "Authorization: Bearer stw_…" http://127.0.0.1:3000/hello
 *
 * It uses the same database as `steward serve` (STEWARD_DATA_DIR, or STEWARD_DATABASE_URL for
 * PostgreSQL): a token revoked there is refused here at once.
 */
import express from "express";
import { createSteward } from "steward";

const steward = await createSteward({
  dataDir: process.env.STEWARD_DATA_DIR ?? "./data",
  databaseUrl: process.env.STEWARD_DATABASE_URL || undefined,
});

const app = express();

// Optional: the route runs for everyone; req.stewardPrincipal is the token's owner, or null.
app.get("/public", steward.expressMiddleware(), (req, res) => {
  res.json({ hello: req.stewardPrincipal?.userId ?? "stranger" });
});

// Required: no valid token → 401 (403 outside the token's allow-list) before the handler runs.
app.get("/hello", steward.expressMiddleware({ required: true }), (req, res) => {
  const { userId, tokenId, scopes } = req.stewardPrincipal;
  res.json({ hello: userId, tokenId, scopes: scopes ?? "all" });
});

// Or call the verifier yourself.
app.get("/whoami", async (req, res, next) => {
  try {
    const principal = await steward.verify(req);
    res.status(principal ? 200 : 401).json({ user: principal?.userId ?? null });
  } catch (error) {
    next(error);
  }
});

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", (error) => {
  if (error) throw error;
  console.log(`Example app listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    // Close the server, then Steward: it writes the usage statistics still in memory.
    server.close(() => steward.close().then(() => process.exit(0)));
  });
}
