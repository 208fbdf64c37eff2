-- wrk script for the serve load test in BENCHMARKS.md: wrk -t2 -c64 -d20s --timeout 10s -s serve_mixed.lua http://127.0.0.1:PORT
-- Mixed routes, in turn per connection: analytics, search, item by id, users.
local bodies = {
  {"POST", "/v2/api/analytics/outbound", '{"date":{"from":"2024-10-07","to":"2024-11-03"},"tags":["demo_booked"],"granularity":"DAY","timezone":"America/New_York"}'},
  {"POST", "/v2/api/conversations/items/search", '{"type":"CALL","date":{"from":"2024-10-07","to":"2024-10-08"},"page":2,"size":50}'},
  {"GET", "/v2/api/conversations/items/cll-0000500000", nil},
  {"GET", "/v2/api/users", nil},
}
local counter = 0
request = function()
  counter = counter + 1
  local r = bodies[(counter % #bodies) + 1]
  local headers = {}
  if r[3] then headers["Content-Type"] = "application/json" end
  return wrk.format(r[1], r[2], headers, r[3])
end
local non200 = 0
response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors(socket) %d/%d/%d/%d, non-2xx %d\n", summary.requests,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
  for _, p in pairs({50, 90, 99}) do
    io.write(string.format("p%d %.1f ms\n", p, latency:percentile(p) / 1000))
  end
end
