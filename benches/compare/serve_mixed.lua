-- wrk script for the serve load tests in BENCHMARKS.md:
--   wrk -t2 -c64 -d20s --timeout 10s --latency -s serve_mixed.lua http://127.0.0.1:PORT [-- MODE]
-- MODE mixed (the default): mixed routes, in turn per connection: analytics, search, item by
-- id, users. MODE repeated: the same 4-week analytics request every time (a dashboard
-- polling). MODE distinct: 4-week analytics requests that are all different (each period
-- starting a day later, from 2023-12-04, in four zones in turn; per wrk thread), to run alone
-- on one connection (-t1 -c1).
local analytics = '{"date":{"from":"2024-10-07","to":"2024-11-03"},"tags":["demo_booked"],"granularity":"DAY","timezone":"America/New_York"}'
local bodies = {
  {"POST", "/v2/api/analytics/outbound", analytics},
  {"POST", "/v2/api/conversations/items/search", '{"type":"CALL","date":{"from":"2024-10-07","to":"2024-10-08"},"page":2,"size":50}'},
  {"GET", "/v2/api/conversations/items/cll-0000500000", nil},
  {"GET", "/v2/api/users", nil},
}
local zones = {"America/New_York", "UTC", "Europe/Paris", "Asia/Tokyo"}
local first_day = os.time({year = 2023, month = 12, day = 4, hour = 12})
local mode = "mixed"
local counter = 0

init = function(args)
  mode = args[1] or "mixed"
end

local function distinct_body()
  local day = counter % 360
  local zone = zones[math.floor(counter / 360) % #zones + 1]
  local from = os.date("!%Y-%m-%d", first_day + day * 86400)
  local to = os.date("!%Y-%m-%d", first_day + (day + 27) * 86400)
  return string.format('{"date":{"from":"%s","to":"%s"},"tags":["demo_booked"],"granularity":"DAY","timezone":"%s"}',
    from, to, zone)
end

request = function()
  counter = counter + 1
  local r
  if mode == "repeated" then
    r = bodies[1]
  elseif mode == "distinct" then
    r = {"POST", "/v2/api/analytics/outbound", distinct_body()}
  else
    r = bodies[(counter % #bodies) + 1]
  end
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
