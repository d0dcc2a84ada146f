#!/usr/bin/env bash
# Runs the README's "First steps" block, taken from README.md itself (between the
# first-steps markers), twice in a row against one fresh SQLite database on a free loopback
# port: the block must work when pasted, and again when pasted a second time. Only `BI` (the
# built binary instead of `cargo run --release`), `BIND` and `DATABASE_URL` differ from a
# reader's paste. Each run's commands fail loudly (`set -euo pipefail`), unlike a paste.
#
# Usage: scripts/first-steps.sh [path/to/billing-identity]   (default: target/debug/billing-identity)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:-target/debug/billing-identity}")

block=$(sed -n '/<!-- first-steps:begin -->/,/<!-- first-steps:end -->/p' README.md |
  sed -e '1,/^```sh$/d' -e '/^```$/,$d')
if [ -z "$block" ]; then
  echo "first-steps: no block between the markers in README.md" >&2
  exit 1
fi

# Where oathtool is missing (a CI image), a stand-in computes the same RFC 6238 code.
prelude=''
if ! command -v oathtool >/dev/null; then
  prelude='oathtool() {
    python3 -c "import base64, hmac, struct, sys, time
s = sys.argv[1].upper(); key = base64.b32decode(s + \"=\" * (-len(s) % 8))
mac = hmac.digest(key, struct.pack(\">Q\", int(time.time()) // 30), \"sha1\")
o = mac[-1] & 15; print(\"%06d\" % ((struct.unpack(\">I\", mac[o:o + 4])[0] & 0x7fffffff) % 1000000))" "$3"
  }'
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BI="$binary" BIND="127.0.0.1:$port" DATABASE_URL="sqlite://$work/first-steps.db"
export RUST_LOG=warn

for run in 1 2; do
  echo "==> first steps, run $run"
  # A server left over from a failed run would answer the next one: kill it on any exit.
  {
    echo "trap 'kill \${SERVER:-} 2>/dev/null || true' EXIT"
    echo "$prelude"
    echo "$block"
  } >"$work/block.sh"
  (cd "$work" && timeout 300 bash -euo pipefail block.sh) >"$work/run-$run.log" 2>&1 || {
    echo "first-steps: run $run failed:" >&2
    cat "$work/run-$run.log" >&2
    exit 1
  }
  # The last answer is the admin's tokens after the second factor.
  if ! grep -q '"eyJ' "$work/run-$run.log"; then
    echo "first-steps: run $run ended without an access token:" >&2
    cat "$work/run-$run.log" >&2
    exit 1
  fi
done
echo "first-steps: the README's block ran twice"
