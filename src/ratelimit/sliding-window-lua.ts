// Kept as a TypeScript string so the build ships it with the code; see the comments inside.
export const SLIDING_WINDOW_LUA = `
-- Sliding-window check-and-count over several windows in one atomic step.
-- KEYS[i]: one hash per window, fields are bucket numbers (all KEYS share one hash tag).
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
local mode = ARGV[2]
if ARGV[3] ~= '' and now > tonumber(ARGV[3]) then return { -1, tostring(now) } end
local allowed = 1
local buckets, out = {}, {}
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 + 2 * i])
  local limit = tonumber(ARGV[3 + 2 * i])
  local bucket = math.floor(now / window)
  local current = tonumber(redis.call('HGET', KEYS[i], tostring(bucket)) or '0')
  local previous = tonumber(redis.call('HGET', KEYS[i], tostring(bucket - 1)) or '0')
  local elapsed = (now % window) / window
  if previous * (1 - elapsed) + current + 1 > limit then allowed = 0 end
  buckets[i] = bucket
  out[2 * i + 1] = previous
  out[2 * i + 2] = current
end
if mode == 'consume' and allowed == 1 then
  for i = 1, #KEYS do
    local window = tonumber(ARGV[2 + 2 * i])
    local current, previous = tostring(buckets[i]), tostring(buckets[i] - 1)
    redis.call('HINCRBY', KEYS[i], current, 1)
    if redis.call('HLEN', KEYS[i]) > 2 then
      for _, field in ipairs(redis.call('HKEYS', KEYS[i])) do
        if field ~= current and field ~= previous then redis.call('HDEL', KEYS[i], field) end
      end
    end
    redis.call('PEXPIRE', KEYS[i], 2 * window)
  end
end
out[1] = allowed
out[2] = tostring(now)
return out
`
