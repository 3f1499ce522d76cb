-- wrk script for POST /auth/refresh (bench/server-load.sh): every request presents a current
-- refresh token and puts the rotated one from the reply back into the pool, so no token is
-- ever presented twice (no grace-window replies, no reuse detection) and every reply is a real
-- rotation. args: <tokens file> <thread count>; the file holds one refresh token per line, at
-- least one per connection.
local tokens = {}
local last = nil
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  local nthreads = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id - 1 then
      table.insert(tokens, line)
    end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  -- One request in flight per connection, one token per connection: the pool never runs dry
  -- unless a refresh failed (then the last token is replayed and shows up as a non-2xx).
  local token = table.remove(tokens) or last
  last = token
  return wrk.format(nil, "/auth/refresh", nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then
    table.insert(tokens, token)
  end
end
