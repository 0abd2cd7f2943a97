// Kept as a TypeScript string so the build ships it with the code; see the comments inside.
export const SLIDING_WINDOW_LUA = `
-- Sliding-window check-and-count for a run of requests of ONE id, each one atomic against the
-- others: they are decided in arrival order at the same instant, and a request sees every request
-- admitted before it. One request is a run of one. A run costs four Redis calls (TIME, HMGET, HSET,
-- PEXPIRE) however many requests and windows it holds.
-- KEYS[1]: one hash per limited id. For window i it holds b<i> (the current bucket's number),
--          c<i> (requests counted in that bucket) and p<i> (requests in the bucket before it).
-- ARGV[1]: now in ms, or '' to use Redis's own clock (tests pass a time to drive the clock).
-- ARGV[2]: 'consume' (count each request that every window admits) or 'peek' (never count).
-- ARGV[3]: a deadline on Redis's clock (ms), or ''. A run that reaches Redis after the caller
--          gave up on it (timed out, and already counted its requests in its fallback) must not
--          count them a second time: past the deadline the script changes nothing and returns -1.
-- ARGV[4]: how many requests the run holds.
-- ARGV[4+2i-1], ARGV[4+2i]: window length in ms and limit of window i.
-- Returns { 1, now, then per request: allowed, previous_1, current_1, previous_2, current_2, ... }
-- with each request's counts as they stood BEFORE it; the caller derives remaining/reset/
-- retry-after from them with the same formulas.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if ARGV[3] ~= '' and now > tonumber(ARGV[3]) then return { -1, tostring(now) } end
local consume = ARGV[2] == 'consume'
local requests = tonumber(ARGV[4])
local windows = (#ARGV - 4) / 2
local fields = {}
for i = 1, windows do
  fields[3 * i - 2], fields[3 * i - 1], fields[3 * i] = 'b' .. i, 'c' .. i, 'p' .. i
end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local limit, bucket, current, previous, weight = {}, {}, {}, {}, {}
local longest = 0
for i = 1, windows do
  local window = tonumber(ARGV[3 + 2 * i])
  limit[i] = tonumber(ARGV[4 + 2 * i])
  bucket[i] = math.floor(now / window)
  local storedBucket = tonumber(stored[3 * i - 2] or '')
  current[i], previous[i] = 0, 0
  -- Roll the buckets forward to now: the stored bucket is this one, the one before, or older.
  if storedBucket == bucket[i] then
    current[i], previous[i] = tonumber(stored[3 * i - 1] or '0'), tonumber(stored[3 * i] or '0')
  elseif storedBucket == bucket[i] - 1 then
    previous[i] = tonumber(stored[3 * i - 1] or '0')
  end
  weight[i] = 1 - (now % window) / window
  if window > longest then longest = window end
end
local out = { 1, tostring(now) }
local counted = 0
for _ = 1, requests do
  local allowed = 1
  for i = 1, windows do
    if previous[i] * weight[i] + current[i] + 1 > limit[i] then allowed = 0 end
  end
  out[#out + 1] = allowed
  for i = 1, windows do
    out[#out + 1] = previous[i]
    out[#out + 1] = current[i]
  end
  if consume and allowed == 1 then
    for i = 1, windows do current[i] = current[i] + 1 end
    counted = counted + 1
  end
end
if counted > 0 then
  local update = {}
  for i = 1, windows do
    update[#update + 1] = 'b' .. i
    update[#update + 1] = bucket[i]
    update[#update + 1] = 'c' .. i
    update[#update + 1] = current[i]
    update[#update + 1] = 'p' .. i
    update[#update + 1] = previous[i]
  end
  redis.call('HSET', KEYS[1], unpack(update))
  redis.call('PEXPIRE', KEYS[1], 2 * longest)
end
return out
`
