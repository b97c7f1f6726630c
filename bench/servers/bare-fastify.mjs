// Baseline 2: bare Fastify (no logger, no plugins) with the same route. Prints its URL like Steward.
import Fastify from "fastify";
import { JSON_TYPE, WHOAMI_BODY } from "./whoami-body.mjs";

const app = Fastify({ logger: false });
app.get("/whoAmI/api/json", async (_request, reply) => reply.type(JSON_TYPE).send(WHOAMI_BODY));
const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`bare Fastify listening on ${url}\n`);
process.once("SIGTERM", () => process.exit(0));
