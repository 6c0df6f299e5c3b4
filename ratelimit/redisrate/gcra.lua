-- One GCRA step for ratelimit/redisrate; mirrors Params.Step in ratelimit/internal/gcra.
--
-- KEYS[1]  the state: "<TAT in Unix ns>:<rem>", TAT = ns + rem/limit ns (rem < limit).
-- ARGV     now_s, now_ns (now = now_s·1e9 + now_ns), inc_ns, inc_rem (the probe: cost·T,
--          or T to peek), limit, window_ns, mode ("take", "peek" or "read").
-- Returns  {allowed, d_ns, d_rem}: allowed is 1 or 0; d = max(TAT − now, 0) after the step.
--
-- Lua numbers are doubles, exact below 2^53 ns (104 days): TAT is split into seconds and
-- nanoseconds, and d, the probe and their sum stay below two windows (2 × 744h).
local now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local inc_ns, inc_rem = tonumber(ARGV[3]), tonumber(ARGV[4])
local limit, window, mode = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]

local d_ns, d_rem = 0, 0
local v = redis.call('GET', KEYS[1])
if v then
  local ns, rem = string.match(v, '^(%d+):(%d+)$')
  if ns then
    local s, n = 0, tonumber(ns)
    if #ns > 9 then
      s, n = tonumber(string.sub(ns, 1, -10)), tonumber(string.sub(ns, -9))
    end
    local diff = (s - now_s) * 1e9 + (n - now_ns)
    rem = math.min(tonumber(rem), limit - 1)
    if diff > 0 or (diff == 0 and rem > 0) then
      d_ns, d_rem = diff, rem
    end
  end
end
if mode == 'read' then
  return {0, d_ns, d_rem}
end

local n_ns, n_rem = d_ns + inc_ns, d_rem + inc_rem
if n_rem >= limit then
  n_ns, n_rem = n_ns + 1, n_rem - limit
end
if n_ns > window or (n_ns == window and n_rem > 0) then
  return {0, d_ns, d_rem}
end
if mode == 'peek' then
  return {1, d_ns, d_rem}
end

local low = now_ns + n_ns
local carry = math.floor(low / 1e9)
local tat = string.format('%d%09d:%d', now_s + carry, low - carry * 1e9, n_rem)
-- Expire at the TAT (when the state equals no state), plus 1s for clock skew.
redis.call('SET', KEYS[1], tat, 'PX', math.floor(n_ns / 1e6) + 1001)
return {1, n_ns, n_rem}
