#!/usr/bin/env bash
# Remakes api/symbol-order.txt, the order in which the linker places functions at the start of
# .text (api/build.rs): the functions the release server executes while it starts,
# is seeded (a temporary key, TOTP, a provider, registrations, logins), and serves /me with
# an access token and with an API token, refreshes and password logins.
#
#   scripts/symbol-order.sh [--no-build]
#
# Runs the server under valgrind's callgrind (installed with apt-get when missing) on
# loopback with a throwaway SQLite file, and lists every function that ran, by its linker
# name, sorted. Remake it when the hot paths change; a
# function missing from the list only costs memory (it lands among the cold code), never
# correctness. Then rebuild with `cargo build --release`: api/build.rs relinks when the list
# changes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=1
[ "${1:-}" = --no-build ] && build=0
command -v valgrind > /dev/null || apt-get install -y -q valgrind > /dev/null
if [ "$build" = 1 ]; then
  cargo build --release --locked -q -p billing-identity --bin billing-identity
fi
bin=$root/target/release/billing-identity

work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export DATABASE_URL="sqlite://$work/order.db" BIND="127.0.0.1:$port" RUST_LOG=warn
export TRUST_FORWARDED_FOR=true
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind.out" \
  "$bin" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "$base/readyz" > /dev/null && break
  kill -0 "$server" 2> /dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
password="correct horse battery staple, twice"
key=$("$bin" bootstrap-admin --login order-admin --name "Order Admin" | tail -n 1)
python3 scripts/load/seed.py "$base" "$key" 4 4 "$password" "$work"
python3 - "$base" "$work" "$password" << 'PY'
import http.client, json, sys, urllib.parse
base, work, password = sys.argv[1:4]
conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port)
def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    text = response.read()
    assert response.status < 300, (method, path, response.status, text)
    return json.loads(text) if text else None
access = open(f"{work}/access_token").read().strip()
api_token = open(f"{work}/api_token").read().strip()
refresh = open(f"{work}/refresh_tokens").read().split()
for _ in range(200):
    call("GET", "/api/v1/me", token=access)
for _ in range(50):
    call("GET", "/api/v1/me", token=api_token)
for i in range(200):
    k = i % len(refresh)
    refresh[k] = call("POST", "/api/v1/auth/refresh", {"refresh_token": refresh[k]})["refresh_token"]
for n in range(1, 5):
    call("POST", "/api/v1/auth/login", {"provider": "load", "login": f"load-{n}@example.com", "password": password})
PY
kill "$server"
wait "$server" 2> /dev/null || true
server=
# Function names as callgrind writes them: `fn=(id) name` the first time, `fn=(id)` after.
python3 - "$work/callgrind.out" > api/symbol-order.txt << 'PY'
import re, sys
seen, order = set(), []  # each name once
for path in [sys.argv[1]] + [sys.argv[1] + f".{n}" for n in range(1, 10)]:
    try:
        lines = open(path, errors="replace")
    except FileNotFoundError:
        continue
    for line in lines:
        m = re.match(r"c?fn=\(\d+\) (\S+)", line)
        if m and m.group(1) not in seen:
            seen.add(m.group(1))
            order.append(m.group(1))
# Sorted: the set is what counts (placed together), and a sorted list changes little
# when it is made again.
print("\n".join(sorted(n for n in order if not n.startswith("0x") and "@" not in n)))
PY
echo "api/symbol-order.txt: $(wc -l < api/symbol-order.txt) functions" >&2
