import assert from "node:assert/strict";
import { failureMessage } from "./transport.ts";

Deno.test("registry transport failures read as Go's net/http errors", () => {
  const cause = (m: string) => new TypeError("fetch failed", { cause: new Error(m) });
  assert.equal(
    failureMessage(
      "GET",
      "https://registry.example/v2/",
      cause(
        "error sending request for url (https://registry.example/v2/): client error (Connect): " +
          "dns error: failed to lookup address information: Name or service not known",
      ),
    ),
    'Get "https://registry.example/v2/": dial tcp: lookup registry.example: no such host',
  );
  assert.equal(
    failureMessage(
      "HEAD",
      "http://127.0.0.1:5999/v2/x",
      cause("error sending request ... tcp connect error: Connection refused (os error 111)"),
    ),
    'Head "http://127.0.0.1:5999/v2/x": dial tcp 127.0.0.1:5999: connect: connection refused',
  );
  assert.equal(
    failureMessage("GET", "https://r.example/v2/", new Error("connect ECONNREFUSED 1.2.3.4:443")),
    'Get "https://r.example/v2/": dial tcp r.example:443: connect: connection refused',
  );
  assert.equal(
    failureMessage(
      "GET",
      "https://r.example/v2/",
      cause(
        "error sending request for url (https://r.example/v2/): client error (Connect): " +
          "invalid peer certificate: UnknownIssuer",
      ),
    ),
    'Get "https://r.example/v2/": invalid peer certificate: UnknownIssuer',
  );
});
