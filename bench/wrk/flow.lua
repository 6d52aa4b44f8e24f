-- Customers walking part of an activation: wrk -t C -c C -s flow.lua URL -- PHASE_FILE C
-- One connection per thread, so a thread's Lua state is one connection's: it walks its customers
-- (customer i goes to thread i mod C) one after another through the phase's steps, keeping each
-- customer's cookies and CSRF token as a browser would, and checking every answer.
--
-- PHASE_FILE (Lua, written by bench/activations.py) returns
--   {out = prefix, carry = {names}, steps = {step, ...}, customers = {{n = .., c = {cookies}, v = {vars}}, ...}}
-- A step: m (method), p (path), b (form body, optional), h (headers, optional), s (expected status),
-- loc (expected redirect path), has (text the body must contain), csrf (take the form's CSRF
-- token), grab = {name, Lua pattern} (take a value from the body). p, b, h and loc may hold {name}:
-- the customer's variable of that name (signed SPI links, usernames, codes, the CSRF token).
--
-- request() only builds the current step's request and advances nothing: wrk calls it once more
-- before the run to check the script. response() checks the answer and moves on. Per customer, one
-- line goes to out.<thread>: n, "ok" or the failure, first send and last answer (CLOCK_MONOTONIC,
-- the clock of Python's time.monotonic()), the cookies, the carried variables, each step's seconds. When its last customer
-- is done, the thread creates out.done.<thread> and stops.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local steps, carry, queue, out, out_prefix
local position, customer, step_index, started, sent_at, timings

local function fill(template)
  return (template:gsub("{([%w_]+)}", customer.v))
end

local function next_customer()
  position = position + 1
  customer = queue[position]
  step_index, started, timings = 1, nil, {}
end

local function cookie_header(cookies)
  local pairs_ = {}
  for name, value in pairs(cookies) do
    pairs_[#pairs_ + 1] = name .. "=" .. value
  end
  return table.concat(pairs_, "; ")
end

local function remember(line)
  -- wrk hands over one Set-Cookie header (the last); the product sets at most one per answer.
  if not line then return end
  local name, value = line:match("^%s*([^=;%s]+)=([^;]*)")
  if not name then return end
  local attributes = line:sub(#name + #value + 2)
  if attributes:find("Max-Age=0", 1, true) or attributes:find("1970", 1, true) then
    customer.c[name] = nil -- how Flask deletes a cookie
  else
    customer.c[name] = value
  end
end

local function record(outcome)
  local carried = {}
  for _, name in ipairs(carry) do
    if customer.v[name] then carried[#carried + 1] = name .. "=" .. customer.v[name] end
  end
  local seconds = {}
  for i = 1, #timings do seconds[i] = string.format("%.6f", timings[i]) end
  out:write(string.format("%d\t%s\t%.6f\t%.6f\t%s\t%s\t%s\n", customer.n, outcome, started or 0, now(),
    cookie_header(customer.c), table.concat(carried, "&"), table.concat(seconds, ",")))
  out:flush()
  next_customer()
  if not customer then -- this connection's share is done: say so (bench/activations.py waits for every thread)
    out:close()
    assert(io.open(out_prefix .. ".done." .. id, "w")):close()
    wrk.thread:stop()
  end
end

function init(args)
  local phase = dofile(args[1])
  local thread_count = tonumber(args[2])
  steps, carry, queue = phase.steps, phase.carry, {}
  for i = id, #phase.customers, thread_count do
    queue[#queue + 1] = phase.customers[i]
  end
  out_prefix = phase.out
  out = assert(io.open(out_prefix .. "." .. id, "w"))
  position = 0
  next_customer()
end

function request()
  local step = steps[step_index]
  local headers = { Cookie = cookie_header(customer.c) }
  if step.h then
    for name, value in pairs(step.h) do headers[name] = fill(value) end
  end
  local body = nil
  if step.b then
    body = fill(step.b)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  sent_at = now()
  return wrk.format(step.m, fill(step.p), headers, body)
end

local function location_path(headers)
  local target = headers["Location"] or ""
  return (target:gsub("^https?://[^/]+", ""))
end

local function problem(step, status, headers, body)
  if status ~= step.s then
    return string.format("%s answered %d (expected %d) %s", step.r, status, step.s, location_path(headers))
  end
  if step.loc and location_path(headers) ~= fill(step.loc) then
    return string.format("%s sent to %s, expected %s", step.r, location_path(headers), fill(step.loc))
  end
  if step.has and not body:find(step.has, 1, true) then
    return string.format("%s: the answer lacks %q", step.r, step.has)
  end
  if step.csrf then
    customer.v.csrf = body:match('name="csrf_token"[^>]*value="([^"]+)"')
    if not customer.v.csrf then return step.r .. ": the page has no CSRF token" end
  end
  if step.grab then
    local value = body:match(step.grab[2])
    if not value then return string.format("%s: nothing matches %q", step.r, step.grab[2]) end
    customer.v[step.grab[1]] = value
  end
  return nil
end

function response(status, headers, body)
  local step = steps[step_index]
  timings[step_index] = now() - sent_at
  if step_index == 1 then started = sent_at end
  remember(headers["Set-Cookie"])
  local failure = problem(step, status, headers, body)
  if failure then
    record((failure:gsub("[\t\n]", " ")))
    return
  end
  step_index = step_index + 1
  if step_index > #steps then record("ok") end
end
