import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiFailure, request } from "../../web/static/js/lib/api.js";

function answering(status, body) {
  return async () => new Response(JSON.stringify(body), {
    status, headers: { "Content-Type": "application/json" },
  });
}

test("a refusal carries the server's code, message and field", async () => {
  const fetchFn = answering(422, { error: "The end must be after the start.", code: "invalid_range", field: "weekly.2.end" });
  await assert.rejects(request("PUT", "/api/x", {}, { fetchFn }), (err) => {
    assert.ok(err instanceof ApiFailure);
    assert.equal(err.status, 422);
    assert.equal(err.code, "invalid_range");
    assert.equal(err.message, "The end must be after the start.");
    assert.equal(err.field, "weekly.2.end");
    return true;
  });
});

test("a refusal without a field says so with null", async () => {
  const fetchFn = answering(409, { error: "Changed meanwhile.", code: "conflict" });
  await assert.rejects(request("POST", "/api/x", {}, { fetchFn }), (err) => err.field === null);
});

test("an unreachable server is status 0", async () => {
  const fetchFn = async () => { throw new TypeError("network"); };
  await assert.rejects(request("GET", "/api/x", undefined, { fetchFn }), (err) => err.status === 0);
});
