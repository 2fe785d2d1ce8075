-- Loads a fixed data set of strings, lists, hashes and sets, then deletes a third of the strings.
for i = 1, 20000 do redis.call('SET', 's:' .. i, string.rep(string.char(97 + i % 26), i % 700)) end
for i = 1, 500 do
  for j = 1, 50 do redis.call('RPUSH', 'l:' .. i, j * i) end
  for j = 1, 40 do redis.call('HSET', 'h:' .. i, 'f' .. j, string.rep('v', j * 3)) end
end
for i = 1, 300 do for j = 1, 60 do redis.call('SADD', 'z:' .. i, 'm' .. (j * i)) end end
for i = 1, 20000, 3 do redis.call('DEL', 's:' .. i) end
for i = 1, 500, 7 do redis.call('LTRIM', 'l:' .. i, 5, 30) end
return redis.call('DBSIZE')
