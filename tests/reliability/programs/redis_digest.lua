-- A digest of the whole data set built by redis_load.lua, independent of hash-table order.
local acc = ''
for i = 1, 20000 do
  local v = redis.call('GET', 's:' .. i)
  if v then acc = redis.sha1hex(acc .. i .. v) end
end
for i = 1, 500 do
  acc = redis.sha1hex(acc .. table.concat(redis.call('LRANGE', 'l:' .. i, 0, -1), ','))
  local h = redis.call('HGETALL', 'h:' .. i)
  table.sort(h)
  acc = redis.sha1hex(acc .. table.concat(h, ','))
end
for i = 1, 300 do
  local s = redis.call('SMEMBERS', 'z:' .. i)
  table.sort(s)
  acc = redis.sha1hex(acc .. table.concat(s, ','))
end
return acc
