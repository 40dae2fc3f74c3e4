-- wrk script for bench/run.sh.
--
-- Usage: wrk -t1 -c16 -d10s --latency -s bench/wrk.lua URL -- METHOD [BODY]
--   METHOD  GET or POST (default GET); BODY is sent as-is with Content-Type: application/json.
--
-- The request is formatted once per thread. Every response's status is checked (response() hook) and done()
-- prints one machine-readable line, prefixed "BENCH_JSON ", that bench/report.py parses:
-- request count, duration, requests/s, latency mean/stdev/max and percentiles in microseconds,
-- non-2xx responses and wrk's socket errors.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local req = nil
non2xx = 0
first_bad = 0

function init(args)
  local method = args[1] or "GET"
  local body = args[2]
  local headers = {}
  if body ~= nil then
    headers["Content-Type"] = "application/json"
  end
  req = wrk.format(method, nil, headers, body)
end

function request()
  return req
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then
      first_bad = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    local status = thread:get("first_bad") or 0
    if first == 0 and status ~= 0 then
      first = status
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.2f,' ..
    '"lat_mean_us":%.1f,"lat_stdev_us":%.1f,"lat_max_us":%.1f,' ..
    '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"p999_us":%.1f,' ..
    '"non2xx":%d,"first_bad_status":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes, summary.requests / seconds,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    bad, first,
    e.connect, e.read, e.write, e.status, e.timeout))
end
