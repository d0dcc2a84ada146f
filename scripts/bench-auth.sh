#!/usr/bin/env bash
# Bounded load on the authenticated paths of a release build, on loopback only: GET /api/v1/me
# with an access token and with an API token (wrk, 64 connections), and refresh-token rotation
# (4 chains, one connection each). Starts its own server on a temporary SQLite file (or on
# DATABASE_URL when given, e.g. a PostgreSQL database of your own) and stops it at the end.
#
#   cargo build --release && scripts/bench-auth.sh [path/to/billing-identity] [seconds]
set -euo pipefail
BIN=${1:-target/release/billing-identity}
SECONDS_EACH=${2:-10}
PORT=${PORT:-18080}
BASE=http://127.0.0.1:$PORT
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
WORK=$(mktemp -d)
export DATABASE_URL=${DATABASE_URL:-sqlite://$WORK/bench.db}
export BIND=127.0.0.1:$PORT RUST_LOG=${RUST_LOG:-warn}
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.1; done

post() { curl -fs -X POST "$BASE$1" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} -d "$2"; }
totp() { python3 -c 'import base64,hmac,struct,sys,time
k=base64.b32decode(sys.argv[1]+"="*(-len(sys.argv[1])%8)); m=struct.pack(">Q",int(time.time())//30)
h=hmac.new(k,m,"sha1").digest(); o=h[-1]&15
print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$1"; }

KEY=$("$BIN" bootstrap-admin --login admin 2>/dev/null | tail -n 1)
ADMIN=$(post /api/v1/auth/temporary-key "{\"key\": \"$KEY\"}" | jq -r .access_token)
SECRET=$(post /api/v1/me/totp '{}' "$ADMIN" | jq -r .secret)
post /api/v1/me/totp/confirm "{\"code\": \"$(totp "$SECRET")\"}" "$ADMIN" >/dev/null
post /api/v1/providers '{"slug": "acme", "name": "Acme Hosting", "jurisdiction": "DE"}' "$ADMIN" >/dev/null
PASSWORD="correct horse battery staple"
SIGNUP=$(post /api/v1/providers/acme/registrations \
  "{\"email\": \"anna@example.com\", \"name\": \"Anna\", \"password\": \"$PASSWORD\"}")
USER=$(echo "$SIGNUP" | jq -r .tokens.access_token)
API=$(post /api/v1/me/api-tokens '{"name": "bench", "scope": "read"}' "$USER" | jq -r .secret)
REFRESH=()
for _ in 1 2 3 4; do
  REFRESH+=("$(post /api/v1/auth/login "{\"provider\": \"acme\", \"login\": \"anna@example.com\", \"password\": \"$PASSWORD\"}" | jq -r .refresh_token)")
done

cat >"$WORK/refresh.lua" <<LUA
local tokens = { "${REFRESH[0]}", "${REFRESH[1]}", "${REFRESH[2]}", "${REFRESH[3]}" }
local n = 0
function setup(thread) n = n + 1; thread:set("token", tokens[n]) end
function request()
  return wrk.format("POST", "/api/v1/auth/refresh", { ["content-type"] = "application/json" },
    '{"refresh_token": "' .. token .. '"}')
end
function response(status, headers, body)
  if status ~= 200 then errors = (errors or 0) + 1; return end
  token = body:match('"refresh_token":"([^"]+)"')
end
LUA

echo "== GET /api/v1/me, access token (user), 64 connections"
wrk -t2 -c64 -d"${SECONDS_EACH}s" --latency -H "authorization: Bearer $USER" "$BASE/api/v1/me" | grep -E "Requests/sec|99%|Non-2xx|Socket"
echo "== GET /api/v1/me, API token (user), 64 connections"
wrk -t2 -c64 -d"${SECONDS_EACH}s" --latency -H "authorization: Bearer $API" "$BASE/api/v1/me" | grep -E "Requests/sec|99%|Non-2xx|Socket"
echo "== POST /api/v1/auth/refresh, 4 chains"
wrk -t4 -c4 -d"${SECONDS_EACH}s" --latency -s "$WORK/refresh.lua" "$BASE" | grep -E "Requests/sec|99%|Non-2xx|Socket"
