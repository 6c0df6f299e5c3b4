-- wrk script of latchkey's HTTP benchmarks (bench/http.sh, bench/scale.sh).
-- Configured by the environment so that no credential appears in argv:
--
--   BENCH_MODE       verify (default): POST /v1/keys/verify, one body per
--                    key of BENCH_KEYS_FILE, cycling;
--                    create: POST /v1/keys with a fixed body;
--                    tokens: POST /v1/tokens (JWT exchange) of the API key
--                    in BENCH_TOKEN, body {};
--                    cc: POST /oauth2/token, grant_type=client_credentials,
--                    HTTP Basic with BENCH_BASIC (base64 of id:secret);
--                    introspect: POST /oauth2/introspect of the token in
--                    BENCH_INTROSPECT_TOKEN, HTTP Basic with BENCH_BASIC;
--                    get: GET of the URL's path.
--   BENCH_TOKEN      credential for the Authorization header: a management
--                    key, or (tokens) the API key to exchange.
--   BENCH_KEYS_FILE  plaintext keys, one a line (verify).
--   BENCH_SCOPES     JSON array of required scopes (verify; default
--                    ["orders:read"]).
--
-- wrk always runs for its -d; single passes over a key file (each key sent
-- exactly once, e.g. cache-cold) are done by `bench-seed load` instead.
--
-- done() prints one machine-readable line:
--   BENCH_RESULT requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N
--                max_us=N non2xx=N socket_errors=N

local mode = os.getenv("BENCH_MODE") or "verify"
local token = os.getenv("BENCH_TOKEN")
local requests = {}
local n = 0
local i = 0

wrk.headers["Content-Type"] = "application/json"
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
if mode == "cc" or mode == "introspect" then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. assert(os.getenv("BENCH_BASIC"), "BENCH_BASIC not set")
end

function init(args)
  if mode == "verify" then
    local scopes = os.getenv("BENCH_SCOPES") or '["orders:read"]'
    local f = assert(io.open(assert(os.getenv("BENCH_KEYS_FILE"), "BENCH_KEYS_FILE not set"), "r"))
    for line in f:lines() do
      if line ~= "" then
        n = n + 1
        requests[n] = wrk.format("POST", "/v1/keys/verify", nil,
          '{"key":"' .. line .. '","scopes":' .. scopes .. '}')
      end
    end
    f:close()
    assert(n > 0, "no keys in BENCH_KEYS_FILE")
  elseif mode == "create" then
    n = 1
    requests[1] = wrk.format("POST", "/v1/keys", nil,
      '{"keyspace":"default","name":"wrk-created","owner":{"type":"user","id":"bench"},' ..
      '"scopes":["orders:read"],"expires_in":"720h","metadata":{"plan":"pro"}}')
  elseif mode == "tokens" then
    n = 1
    requests[1] = wrk.format("POST", "/v1/tokens", nil, '{}')
  elseif mode == "cc" then
    n = 1
    requests[1] = wrk.format("POST", "/oauth2/token", nil, "grant_type=client_credentials")
  elseif mode == "introspect" then
    n = 1
    requests[1] = wrk.format("POST", "/oauth2/introspect", nil,
      "token=" .. assert(os.getenv("BENCH_INTROSPECT_TOKEN"), "BENCH_INTROSPECT_TOKEN not set"))
  else
    n = 1
    requests[1] = wrk.format("GET")
  end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end

-- No response() callback on purpose: it would make wrk parse every body and
-- cost the load generator CPU. bench/http.sh checks latchkey's /metrics
-- instead (VALID verifications ≥ wrk's request count).

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
