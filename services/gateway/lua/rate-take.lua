-- Spends one token of a shared bucket. Returns 1 (allowed) or 0 (empty).
local bucket_key = KEYS[1]
local interval_ms, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
--#include lib/gcra.lua

if take_token(bucket_key, interval_ms, burst) then return 1 end
return 0
