// Baseline 1: bare node:http answering GET /whoAmI/api/json with a small JSON. Prints its URL like Steward.
import { createServer } from "node:http";
import { JSON_TYPE, WHOAMI_BODY } from "./whoami-body.mjs";

const length = String(Buffer.byteLength(WHOAMI_BODY));
const server = createServer((request, response) => {
  if (request.method === "GET" && request.url === "/whoAmI/api/json") {
    response.writeHead(200, { "content-type": JSON_TYPE, "content-length": length });
    response.end(WHOAMI_BODY);
  } else {
    response.writeHead(404, { "content-length": "0" });
    response.end();
  }
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`bare node:http listening on http://127.0.0.1:${server.address().port}\n`);
});
process.once("SIGTERM", () => process.exit(0));
