// A small Allo API client written with Node's built-in `fetch`, the way teams
// write them. The `serve` integration tests run it against `callfunnel serve`:
//
//     node allo_client.mjs BASE_URL API_KEY
//
// It loads the key's capabilities, the outbound metrics of a fortnight, every
// page of the conversations search, and checks two refusals; it prints a JSON
// summary on stdout and exits non-zero on any unexpected answer.

const [base, key] = process.argv.slice(2);
const headers = { Authorization: `Api-Key ${key}`, "Content-Type": "application/json" };

async function call(method, path, body, extraHeaders = headers) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: extraHeaders,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

function expect(condition, message) {
  if (!condition) {
    console.error(message);
    process.exit(1);
  }
}

const me = await call("GET", "/v2/api/me");
expect(me.status === 200, `me: ${me.status}`);
expect(me.body.data.scopes.includes("CONVERSATIONS_READ"), "me: no CONVERSATIONS_READ");

const outbound = await call("POST", "/v2/api/analytics/outbound", {
  date: { from: "2024-03-04", to: "2024-03-17" },
  tags: ["demo_booked"],
  granularity: "DAY",
  timezone: "Europe/Paris",
});
expect(outbound.status === 200, `outbound: ${JSON.stringify(outbound.body)}`);

let items = 0;
for (let page = 1; ; page += 1) {
  const answer = await call("POST", "/v2/api/conversations/items/search", {
    page,
    size: 100,
    sort: "DATE_DESC",
  });
  expect(answer.status === 200, `search: ${JSON.stringify(answer.body)}`);
  items += answer.body.data.length;
  if (!answer.body.pagination.has_more) break;
}

const bearer = await call("GET", "/v2/api/me", undefined, { Authorization: `Bearer ${key}` });
expect(bearer.status === 401, `bearer: ${bearer.status}`);
const missing = await call("GET", "/v2/api/conversations/items/cll-does-not-exist");
expect(missing.status === 404, `missing: ${missing.status}`);

console.log(
  JSON.stringify({
    dials: outbound.body.data.funnel.dials.count.value,
    items,
    bearer_code: bearer.body.error.code,
    missing_code: missing.body.error.code,
  }),
);
