#!/usr/bin/env bash
# Fuzzes the running service against its own OpenAPI document with schemathesis: generated
# requests, good and bad, must never get a 5xx, and every answer must match the document
# (status, content type, body schema, 405 with Allow). Loopback only; bounded by
# --max-examples and a fixed seed, so a run is repeatable.
#
# Usage: scripts/fuzz.sh [path/to/billing-identity]   (default: target/debug/billing-identity)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/billing-identity}
venv=${FUZZ_VENV:-/tmp/billing-identity-fuzz-venv}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite://$work/fuzz.db" BIND="127.0.0.1:$port" RUST_LOG=warn
"$binary" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('$base/healthz')" 2>/dev/null && break
  sleep 0.1
done

key=$("$binary" bootstrap-admin --login fuzzer | tail -n 1)
# The administrator enrolls TOTP first (admins must), so that the operations answer more
# than 403 mfa_enrollment_required.
token=$(python3 - "$base" "$key" <<'PY'
import base64, hmac, json, struct, sys, time, urllib.request
def call(path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(sys.argv[1] + path, data=data, headers=headers, method="POST")
    return json.load(urllib.request.urlopen(request))
token = call("/api/v1/auth/temporary-key", {"key": sys.argv[2]})["access_token"]
secret = call("/api/v1/me/totp", token=token)["secret"]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.digest(key, struct.pack(">Q", int(time.time()) // 30), "sha1")
o = mac[-1] & 15
code = "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)
call("/api/v1/me/totp/confirm", {"code": code}, token)
print(token)
PY
)

# Logout, a password change and "sign out everywhere" would end the fuzzer's own session;
# removing TOTP (or starting it again) would take its second factor away.
# /openapi.yaml is a YAML text (`type: string` under application/yaml); schemathesis parses
# YAML answers and would compare the parsed object with the string schema. The contract tests
# check that it serves exactly the document.
"$venv/bin/schemathesis" run "$base/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method,allow_header_conformance \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/me/password \
  --exclude-path /api/v1/me/sessions \
  --exclude-path /openapi.yaml \
  --exclude-path /api/v1/me/totp \
  --max-examples "${FUZZ_EXAMPLES:-20}" \
  --seed 20261125 \
  --generation-deterministic \
  --phases examples,fuzzing,stateful \
  --workers 2 \
  --no-color
status=$?
if grep -q "panicked" "$work/server.log"; then
  echo "fuzz: the server panicked:"; grep -A5 "panicked" "$work/server.log"; exit 1
fi
exit $status
