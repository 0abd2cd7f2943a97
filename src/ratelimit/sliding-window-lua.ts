// Kept as a TypeScript string so the build ships it with the code; see the comments inside.
export const SLIDING_WINDOW_LUA = `
-- Sliding-window check-and-count over several windows in one atomic step.
-- KEYS[1]: one hash per limited id. For window i it holds b<i> (the current bucket's number),
--          c<i> (requests counted in that bucket) and p<i> (requests in the bucket before it), so
--          a request costs four Redis calls (TIME, HMGET, HSET, PEXPIRE) whatever the windows.
-- ARGV[1]: now in ms, or '' to use Redis's own clock (tests pass a time to drive the clock).
-- ARGV[2]: 'consume' (count only if every window admits) or 'peek' (never count).
-- ARGV[3]: a deadline on Redis's clock (ms), or ''. A command that reaches Redis after the caller
--          gave up on it (timed out, and already counted the request in its fallback) must not
--          count it a second time: past the deadline the script changes nothing and returns -1.
-- ARGV[3+2i-1], ARGV[3+2i]: window length in ms and limit of window i.
-- Returns { allowed, now, previous_1, current_1, previous_2, current_2, ... } as counted BEFORE
-- this request; the caller derives remaining/reset/retry-after from them with the same formulas.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if ARGV[3] ~= '' and now > tonumber(ARGV[3]) then return { -1, tostring(now) } end
local windows = (#ARGV - 3) / 2
local fields = {}
for i = 1, windows do
  fields[3 * i - 2], fields[3 * i - 1], fields[3 * i] = 'b' .. i, 'c' .. i, 'p' .. i
end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local allowed = 1
local longest = 0
local update, out = {}, {}
for i = 1, windows do
  local window = tonumber(ARGV[2 + 2 * i])
  local limit = tonumber(ARGV[3 + 2 * i])
  local bucket = math.floor(now / window)
  local storedBucket = tonumber(stored[3 * i - 2] or '')
  local current, previous = 0, 0
  -- Roll the buckets forward to now: the stored bucket is this one, the one before, or older.
  if storedBucket == bucket then
    current, previous = tonumber(stored[3 * i - 1] or '0'), tonumber(stored[3 * i] or '0')
  elseif storedBucket == bucket - 1 then
    previous = tonumber(stored[3 * i - 1] or '0')
  end
  local elapsed = (now % window) / window
  if previous * (1 - elapsed) + current + 1 > limit then allowed = 0 end
  if window > longest then longest = window end
  update[#update + 1] = 'b' .. i
  update[#update + 1] = bucket
  update[#update + 1] = 'c' .. i
  update[#update + 1] = current + 1
  update[#update + 1] = 'p' .. i
  update[#update + 1] = previous
  out[2 * i + 1] = previous
  out[2 * i + 2] = current
end
if ARGV[2] == 'consume' and allowed == 1 then
  redis.call('HSET', KEYS[1], unpack(update))
  redis.call('PEXPIRE', KEYS[1], 2 * longest)
end
out[1] = allowed
out[2] = tostring(now)
return out
`
