-- One page hammered by every connection: wrk -t T -c C -s pages.lua URL -- PAGE_FILE T
-- PAGE_FILE (Lua, written by bench/wrk.py) returns {expect = 200, sessions = {{path = ..., cookie = ...}, ...}}.
-- Each thread pre-formats the requests of its share of the sessions (session i goes to thread
-- i mod T) and hands them out in turn, so building a request costs a table lookup. Every answer
-- other than `expect` is counted (a 302 would mean a session lost its step: wrk alone would count it
-- as a success); done() prints one line, "BENCH " and JSON, for bench/wrk.py.

local threads, counter = {}, 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local page = dofile(args[1])
  local thread_count = tonumber(args[2])
  expected = page.expect
  prepared = {}
  for i = id, #page.sessions, thread_count do
    local session = page.sessions[i]
    local headers = {}
    if session.cookie ~= "" then headers["Cookie"] = session.cookie end
    prepared[#prepared + 1] = wrk.format("GET", session.path, headers)
  end
  turn = 0
  statuses = {}
end

function request()
  turn = turn % #prepared + 1
  return prepared[turn]
end

function response(status)
  if status ~= expected then
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, _requests)
  local totals, unexpected = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    unexpected[#unexpected + 1] = string.format('"%s": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "latency_us": {"mean": %.1f, "p50": %d, "p95": %d, "p99": %d, "max": %d}, '
      .. '"socket_errors": %d, "timeouts": %d, "unexpected": {%s}}\n',
    summary.requests, summary.duration, latency.mean, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.connect + errors.read + errors.write, errors.timeout,
    table.concat(unexpected, ", ")))
end
