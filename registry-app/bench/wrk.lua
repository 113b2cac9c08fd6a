-- wrk script of bench/load.ts. Its argument is a file of raw HTTP requests, each as "<byte length>\n<bytes>";
-- every wrk thread walks them round-robin. BENCH_WRK_ADDRESSES ("host:port host:port ...", one per thread)
-- points each thread at its own service process. When the run ends it prints one line of JSON (what load.ts
-- reads) and one line with wrk's own /proc/self/stat, for the CPU it used.

local requests = {}
local index = 0
local threads = 0

function setup(thread)
  local addresses = {}
  for address in (os.getenv("BENCH_WRK_ADDRESSES") or ""):gmatch("%S+") do
    addresses[#addresses + 1] = address
  end
  if #addresses == 0 then return end
  threads = threads + 1
  local host, port = assert(addresses[(threads - 1) % #addresses + 1]):match("^(.+):(%d+)$")
  thread.addr = assert(wrk.lookup(host, port)[1], "no address for " .. host .. ":" .. port)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  local position = 1
  while position <= #data do
    local newline = assert(data:find("\n", position, true), "a request without its length line")
    local length = assert(tonumber(data:sub(position, newline - 1)), "a length that is not a number")
    requests[#requests + 1] = data:sub(newline + 1, newline + length)
    position = newline + 1 + length
  end
  assert(#requests > 0, "no requests in " .. args[1])
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency)
  local errors = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests":%d,"durationUs":%d,"statusErrors":%d,"socketErrors":%d,' ..
      '"timeouts":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(99)))
  local stat = assert(io.open("/proc/self/stat", "r"))
  io.write("WRK-STAT " .. stat:read("*l") .. "\n")
  stat:close()
end
