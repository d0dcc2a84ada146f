#!/usr/bin/env python3
"""Seeds a fresh billing-identity for scripts/load.sh (standard library only, loopback only).

Redeems the administrator's one-time key, enrolls TOTP for it, creates the provider `load`,
registers ACCOUNTS users (load-1@example.com …, at most 100: the provider's registration
budget) with PASSWORD, then signs in CHAINS times
round-robin over them: the first access token goes to OUT/access_token, every refresh
token to OUT/refresh_tokens (one per line), and a read-only API token of the first account
to OUT/api_token.

    seed.py BASE_URL ADMIN_KEY ACCOUNTS CHAINS PASSWORD OUT_DIR
"""

import base64
import hashlib
import hmac
import json
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PROVIDER = "load"


def call(base, method, path, body=None, token=None, expect=(200, 201), forwarded_for=None):
    host = urllib.parse.urlsplit(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing {base}: loopback only")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    if forwarded_for:
        request.add_header("x-forwarded-for", forwarded_for)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    if status not in expect:
        sys.exit(f"{method} {path}: {status} {text.decode(errors='replace')}")
    return json.loads(text) if text else None


def totp(secret):
    """RFC 6238 with the service's parameters: SHA-1, 6 digits, 30-second steps."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def main():
    base, key, accounts, chains, password, out = sys.argv[1:7]
    accounts, chains = int(accounts), int(chains)
    admin = call(base, "POST", "/api/v1/auth/temporary-key", {"key": key})["access_token"]
    secret = call(base, "POST", "/api/v1/me/totp", token=admin)["secret"]
    call(base, "POST", "/api/v1/me/totp/confirm", {"code": totp(secret)}, token=admin)
    call(
        base,
        "POST",
        "/api/v1/providers",
        {"slug": PROVIDER, "name": "Load Test", "jurisdiction": "DE"},
        token=admin,
    )
    for n in range(1, accounts + 1):
        call(
            base,
            "POST",
            f"/api/v1/providers/{PROVIDER}/registrations",
            {"email": f"load-{n}@example.com", "name": f"Load {n}", "password": password},
            # Registration allows 10 per address: each account comes from an address of its
            # own (the server trusts X-Forwarded-For in this run).
            forwarded_for=f"127.0.{n // 250}.{n % 250 + 1}",
        )
    access, refresh = None, []
    for i in range(chains):
        login = {
            "provider": PROVIDER,
            "login": f"load-{i % accounts + 1}@example.com",
            "password": password,
        }
        tokens = call(base, "POST", "/api/v1/auth/login", login)
        access = access or tokens["access_token"]
        refresh.append(tokens["refresh_token"])
    # A read-only API token of the same user, for `GET /api/v1/me` with an API token.
    api_token = call(base, "POST", "/api/v1/me/api-tokens", {"name": "load", "scope": "read"},
                     token=access)["secret"]
    with open(f"{out}/access_token", "w") as f:
        f.write(access)
    with open(f"{out}/api_token", "w") as f:
        f.write(api_token)
    with open(f"{out}/refresh_tokens", "w") as f:
        f.write("\n".join(refresh) + "\n")


if __name__ == "__main__":
    main()
