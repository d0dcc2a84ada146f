#!/usr/bin/env bash
# The load figures of the service, in one run, on loopback only (README "Load"):
# raw argon2id hashes/s (the service's own hashing, and argon2's C reference) beside
# password logins/s, raw Ed25519 verifications/s beside GET /api/v1/me with an access
# token and with an API token (and their p99), refresh rotations/s, and the server's peak
# and idle RSS.
#
#   scripts/load.sh [--backend sqlite|postgres] [--seconds N] [--connections N] [--no-build]
#                   [--bin PATH]   (another server binary to measure, e.g. an older build)
#
# Builds --release, starts the server on a fresh database (an SQLite file in a temporary
# folder, or a throwaway PostgreSQL database at PG_URL, postgres://postgres@127.0.0.1:5432
# by default), seeds it (bootstrap-admin, a provider, users), runs wrk (installed with
# apt-get when missing; argon2's C reference implementation is built from source under
# target/c-reference) and prints one table. The server and the database are removed at the
# end, whatever happens. Each flood lasts --seconds (15); the whole run takes about
# 2 minutes plus the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/load"

backend=sqlite
seconds=15
connections=64
build=1
bin=
password="correct horse battery staple, twice"
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432}
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --bin) bin=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$backend" in sqlite | postgres) ;; *) echo "--backend sqlite or postgres" >&2; exit 2 ;; esac
if [ "$seconds" -lt 1 ] || [ "$seconds" -gt 120 ] || [ "$connections" -lt 2 ] || [ "$connections" -gt 100 ]; then
  echo "--seconds between 1 and 120, --connections between 2 and 100" >&2
  exit 2
fi
case "$pg_url" in
  postgres://*@127.0.0.1:* | postgres://*@localhost:* | postgres://*@\[::1\]:*) ;;
  *) echo "PG_URL must be on loopback (got $pg_url)" >&2; exit 2 ;;
esac

if ! command -v wrk > /dev/null; then
  echo "installing wrk (apt-get)" >&2
  apt-get install -y -q wrk > /dev/null 2>&1 || { apt-get update -q && apt-get install -y -q wrk; }
fi
cd "$root"
# The C reference implementation of argon2, phc-winner-argon2, as the source distribution
# of argon2-cffi-bindings on PyPI carries it (checked against its digest), built by its own
# Makefile for this CPU, with scripts/load/c_reference.c; kept under target/.
c_ref_dir="$root/target/c-reference"
c_ref="$c_ref_dir/c_reference"
if [ ! -x "$c_ref" ] || [ "$here/c_reference.c" -nt "$c_ref" ]; then
  echo "building the C reference implementation of argon2 into $c_ref_dir" >&2
  sdist=argon2_cffi_bindings-26.2.0
  digest=f21ab89bb9850f32b9ca038d9961424bb0d3669d579cbbbfed068cffa6fc0643
  rm -rf "$c_ref_dir"
  mkdir -p "$c_ref_dir"
  curl -fsSL -o "$c_ref_dir/$sdist.tar.gz" \
    "https://files.pythonhosted.org/packages/76/3b/f7bd1daac24c7017b6d09d05c56bb3f71aaae76b2ac4234ed2c00e0dd2d2/$sdist.tar.gz"
  echo "$digest  $c_ref_dir/$sdist.tar.gz" | sha256sum -c --quiet
  tar -xzf "$c_ref_dir/$sdist.tar.gz" -C "$c_ref_dir" "$sdist/extras/libargon2"
  libargon2="$c_ref_dir/$sdist/extras/libargon2"
  make -s -C "$libargon2" libargon2.a > /dev/null
  cc -O2 -std=c11 -Wall -I"$libargon2/include" -o "$c_ref" "$here/c_reference.c" \
    "$libargon2/libargon2.a" -lpthread
fi
if [ "$build" = 1 ]; then
  cargo build --release --locked -q -p billing-identity --bin billing-identity --example raw_rates
fi
bin=${bin:-$root/target/release/billing-identity}
raw="$root/target/release/examples/raw_rates"

work=$(mktemp -d)
server=
database=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
  fi
  if [ -n "$database" ]; then
    psql -q "$pg_url/postgres" -c "DROP DATABASE IF EXISTS $database" > /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
if [ "$backend" = postgres ]; then
  database="billing_identity_load_$$"
  psql -q "$pg_url/postgres" -c "CREATE DATABASE $database" > /dev/null
  # PG_QUERY: connection parameters for the server, e.g. ?sslmode=disable
  export DATABASE_URL="$pg_url/$database${PG_QUERY:-}"
else
  export DATABASE_URL="sqlite://$work/load.db"
fi
export BIND="127.0.0.1:$port"
# One access-log line per request would be measured too; warnings and errors are kept.
export RUST_LOG=${RUST_LOG:-warn}
# The seeding registers one account per connection, each from an address of its own.
export TRUST_FORWARDED_FOR=true
# The allocator settings the container image runs with (Dockerfile, README "Memory").
export MIMALLOC_ARENA_EAGER_COMMIT=${MIMALLOC_ARENA_EAGER_COMMIT:-0}
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:-0}
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-1}
# An account per connection: parallel attempts on one account count against its failure
# budget until they are done, so with fewer accounts the budget, not the server, would be
# the limit.
accounts=$connections

"$bin" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "$base/readyz" > /dev/null && break
  kill -0 "$server" 2> /dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$base/readyz" > /dev/null || { echo "the server did not get ready" >&2; exit 1; }

status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status"; }
# Peak RSS of one phase: the kernel's high-water mark, reset before the phase (root only;
# otherwise it is the peak since start).
reset_peak() { echo 5 > "/proc/$server/clear_refs" 2> /dev/null || true; }
fresh_kib=$(status VmRSS)

# Clock ticks of CPU time, for where a flood's CPU went (README "Load"): the service's
# hashing threads, its other threads, the database's processes (PostgreSQL), and the whole
# machine busy and idle. Unlike a rate, the shares do not move with the machine's speed.
cpu_ticks() {
  local hash=0 other=0 db=0 line name fields f _ u n s i w q sq st
  for f in /proc/"$server"/task/*/stat; do
    read -r line < "$f" 2> /dev/null || continue
    name=${line#*(}
    name=${name%%)*}
    read -ra fields <<< "${line##*) }"
    # utime and stime, the 14th and 15th fields (the 12th and 13th after the name)
    case $name in
      argon2-*) hash=$((hash + fields[11] + fields[12])) ;;
      *) other=$((other + fields[11] + fields[12])) ;;
    esac
  done
  if [ "$backend" = postgres ]; then
    for f in /proc/[0-9]*/stat; do
      read -r line < "$f" 2> /dev/null || continue
      case $line in
        *"(postgres) "*)
          read -ra fields <<< "${line##*) }"
          db=$((db + fields[11] + fields[12]))
          ;;
      esac
    done
  fi
  read -r _ u n s i w q sq st _ < /proc/stat
  # Steal (time the hypervisor gave the virtual CPUs to someone else) is apart: nothing
  # here ran then.
  echo "$hash $other $db $((u + n + s + q + sq)) $((i + w)) $st"
}

key=$("$bin" bootstrap-admin --login load-admin --name "Load Admin" | tail -n 1)
python3 "$here/seed.py" "$base" "$key" "$accounts" "$connections" "$password" "$work"
access=$(cat "$work/access_token")

# The raw rates need the machine to themselves: after the seeding, PostgreSQL may still be
# writing (a checkpoint, autovacuum), which once cost the raw rates 20 %.
quiet() { # waits (up to 20 s) until under 10 % of the CPU time of a second is busy
  local _ u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2 busy total
  for _ in $(seq 1 20); do
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
    sleep 1
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
    busy=$(((u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1)))
    total=$((busy + (i2 + w2) - (i1 + w1)))
    [ $((busy * 10)) -lt "$total" ] && return 0
  done
  echo "the machine did not get quiet; measuring anyway" >&2
}
if [ "$backend" = postgres ]; then
  psql -q "$pg_url/$database" -c CHECKPOINT > /dev/null 2>&1 || true
fi
# The machine's speed can drift during a run (a virtual machine's host): the raw rates are
# taken right before and right after the flood they are compared with, and the ratios use
# the mean: hashes around the login flood, verifications around the /me flood.
raw_rates() { # file
  echo "raw rates on all cores (server idle)" >&2
  "$raw" --seconds "$((seconds < 5 ? seconds : 5))" --token "$access" > "$1"
}
c_reference() { # file
  echo "the C reference implementation's argon2id rate on all cores (server idle)" >&2
  "$c_ref" "$((seconds < 5 ? seconds : 5))" "${ARGON2_MEMORY_KIB:-19456}" "${ARGON2_ITERATIONS:-2}" >> "$1"
}
raw_of() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
quiet
raw_rates "$work/raw_before"
c_reference "$work/raw_before"

flood() { # name, script, arguments…
  local name=$1 script=$2
  shift 2
  # Each flood starts from the idle service: the hashing threads give their blocks back
  # 2 s after the last hash (README "Memory"), so a flood's peak is its own, not what the
  # flood before it left.
  sleep 3
  echo "$name: wrk, $connections connections, ${seconds}s" >&2
  reset_peak
  local h1 o1 d1 b1 i1 s1 h2 o2 d2 b2 i2 s2
  read -r h1 o1 d1 b1 i1 s1 < <(cpu_ticks)
  wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 10s -s "$here/$script" "$base" -- "$@" \
    > "$work/$name.wrk"
  read -r h2 o2 d2 b2 i2 s2 < <(cpu_ticks)
  echo "$name cpu_hash=$((h2 - h1)) cpu_service=$((o2 - o1)) cpu_db=$((d2 - d1))" \
    "cpu_busy=$((b2 - b1)) cpu_idle=$((i2 - i1)) cpu_steal=$((s2 - s1))" \
    "ticks_per_second=$(getconf CLK_TCK)" \
    >> "$work/results"
  sed -n "s/^RESULT/$name/p" "$work/$name.wrk" >> "$work/results"
  sed -n "s/^STATUS/$name: HTTP statuses/p" "$work/$name.wrk" >> "$work/statuses"
  echo "$name peak_kib=$(status VmHWM)" >> "$work/results"
}
: > "$work/results"
: > "$work/statuses"
flood login login.lua load "$accounts" "$password" 2
sleep 3
raw_rates "$work/raw_between"
c_reference "$work/raw_between"
flood me me.lua "$access"
sleep 3
raw_rates "$work/raw_after"
raw_hashes=$(raw_of argon2id_hashes_per_second "$work/raw_before"),$(raw_of argon2id_hashes_per_second "$work/raw_between")
c_hashes=$(raw_of c_reference_argon2id_hashes_per_second "$work/raw_before"),$(raw_of c_reference_argon2id_hashes_per_second "$work/raw_between")
raw_verify=$(raw_of jwt_verifications_per_second "$work/raw_between"),$(raw_of jwt_verifications_per_second "$work/raw_after")
flood me_api_token me.lua "$(cat "$work/api_token")"
flood refresh refresh.lua "$work/refresh_tokens" 2

echo "idle: waiting 25s for the hashing threads and blocking threads to let go" >&2
sleep 25
idle_kib=$(status VmRSS)

cat "$work/statuses"
python3 "$here/table.py" "$work/results" "$backend" "$raw_hashes" "$raw_verify" "$fresh_kib" "$idle_kib" \
  "$c_hashes" "$(raw_of argon2id_implementation "$work/raw_before")"
