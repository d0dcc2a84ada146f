// The typed flow a frontend runs, against a started service: redeem a one-time key, enroll
// the admin's TOTP, create a provider, register a user, log in, refresh, /me, list auth
// events, and handle Problems by `code`. Every answer is validated against the document
// (validate.ts); a single mismatch fails the run.
//
// Usage (after `npm run -s check` built schema.d.ts): npm run -s flow -- path/to/billing-identity
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";
import { ResponseValidator } from "./validate.js";

type Problem = components["schemas"]["Problem"];
type Code = Problem["code"];

/// What a frontend shows for each code. The switch is exhaustive: a code added to the
/// document without a case here does not compile.
export function describe(code: Code): string {
  switch (code) {
    case "bad_request":
    case "malformed_json":
    case "unsupported_media_type":
    case "method_not_allowed":
    case "no_route":
      return "the request is wrong (a bug of this page)";
    case "validation_failed":
      return "check the fields marked";
    case "unauthenticated":
    case "refresh_token_rotated":
      return "sign in again";
    case "invalid_credentials":
      return "wrong login or password";
    case "forbidden":
    case "method_disabled":
    case "provider_suspended":
    case "module_not_installed":
      return "not allowed here";
    case "mfa_enrollment_required":
      return "set up a second factor first";
    case "mfa_required":
    case "method_not_available":
    case "mfa_challenge_invalid":
    case "reauthentication_required":
      return "sign in again with your second factor";
    case "too_many_attempts":
    case "sms_rate_limited":
      return "wait a moment";
    case "account_locked":
      return "ask support for a one-time key";
    case "not_found":
      return "it is gone";
    case "conflict":
    case "precondition_failed":
      return "someone changed it meanwhile; reload";
    case "consent_required":
      return "accept the new documents";
    case "unavailable":
    case "sms_gateway_failed":
    case "identity_provider_failed":
    case "identity_provider_timeout":
    case "internal":
      return "try again later";
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

/// RFC 6238 with the defaults the service uses (SHA-1, 30 s, 6 digits).
function totp(base32: string, now = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "").toUpperCase()) {
    const value = alphabet.indexOf(c);
    if (value < 0) throw new Error(`not base32: ${c}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`flow: ${what}`);
}

async function main(binary: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "bi-flow-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, DATABASE_URL: `sqlite://${join(work, "flow.db")}`, BIND: `127.0.0.1:${port}`, RUST_LOG: "warn" };
  const server = spawn(binary, ["serve"], { env, stdio: ["ignore", "inherit", "inherit"] });
  try {
    for (let i = 0; ; i++) {
      const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      check(i < 300, "the service did not get ready");
      await new Promise((r) => setTimeout(r, 100));
    }
    const validator = await ResponseValidator.load(`${base}/openapi.json`);
    const validate: Middleware = {
      async onResponse({ request, response, schemaPath }) {
        await validator.check(request.method, schemaPath, response.clone());
      },
    };
    const client = createClient<paths>({ baseUrl: base });
    client.use(validate);
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

    // The operator's one-time key, redeemed.
    const cli = spawnSync(binary, ["bootstrap-admin", "--login", "admin"], { env, encoding: "utf8" });
    check(cli.status === 0, `bootstrap-admin: ${cli.stderr}`);
    const key = cli.stdout.trim().split("\n").pop() ?? "";
    const redeemed = await client.POST("/api/v1/auth/temporary-key", { body: { key } });
    check(redeemed.data, "the key was not redeemed");
    const admin = redeemed.data.access_token;

    // An admin must enroll a second factor before anything else.
    const early = await client.POST("/api/v1/providers", {
      ...bearer(admin),
      body: { slug: "acme", name: "Acme Hosting GmbH", jurisdiction: "DE" },
    });
    check(early.error?.code === "mfa_enrollment_required", `before TOTP: ${JSON.stringify(early.error)}`);
    const enrollment = await client.POST("/api/v1/me/totp", bearer(admin));
    check(enrollment.data, "no TOTP enrollment");
    const confirmed = await client.POST("/api/v1/me/totp/confirm", {
      ...bearer(admin),
      body: { code: totp(enrollment.data.secret) },
    });
    check(confirmed.data?.amr.includes("mfa"), "TOTP not confirmed");

    const provider = await client.POST("/api/v1/providers", {
      ...bearer(admin),
      body: { slug: "acme", name: "Acme Hosting GmbH", jurisdiction: "DE" },
    });
    check(provider.data, `no provider: ${JSON.stringify(provider.error)}`);
    const options = await client.GET("/api/v1/providers/{provider}/login-options", {
      params: { path: { provider: "acme" } },
    });
    check(options.data?.login.includes("password"), "password login is not offered");

    // A user registers, then logs in, refreshes and reads /me.
    const password = "correct horse battery staple 42";
    const registered = await client.POST("/api/v1/providers/{provider}/registrations", {
      params: { path: { provider: "acme" } },
      body: { email: "anna@example.com", name: "Anna", password },
    });
    check(registered.data, `not registered: ${JSON.stringify(registered.error)}`);
    const login = await client.POST("/api/v1/auth/login", {
      body: { provider: "acme", login: "anna@example.com", password },
    });
    check(login.data, "no login");
    check(!("mfa_required" in login.data), "Anna has no second factor");
    const refreshed = await client.POST("/api/v1/auth/refresh", {
      body: { refresh_token: login.data.refresh_token },
    });
    check(refreshed.data?.token_type === "Bearer", "no refresh");
    const me = await client.GET("/api/v1/me", bearer(refreshed.data.access_token));
    check(me.data?.kind === "user" && me.data.credential === "access_token", "not Anna");
    check(me.data.session_access === "full" && me.data.provider_id === provider.data.id, "wrong /me");

    // Problems, handled by code.
    const wrong = await client.POST("/api/v1/auth/login", {
      body: { provider: "acme", login: "anna@example.com", password: "not her password at all" },
    });
    check(wrong.error?.code === "invalid_credentials", "a wrong password signed in");
    console.log(`flow: a wrong password: ${describe(wrong.error.code)}`);
    const badQuery = await client.GET("/api/v1/auth-events", {
      ...bearer(admin),
      params: { query: { limit: 0 } },
    });
    check(badQuery.error?.errors?.[0]?.pointer === "/query/limit", "limit=0 was taken");

    // The auth log shows all of it.
    const events = await client.GET("/api/v1/auth-events", {
      ...bearer(admin),
      params: { query: { provider_id: provider.data.id, limit: 50 } },
    });
    check(events.data, "no auth events");
    const reasons = events.data.items.map((e) => e.reason);
    check(reasons.includes("registered") && reasons.includes("unknown_login_or_wrong_password"), `events: ${reasons}`);

    const logout = await client.POST("/api/v1/auth/logout", bearer(refreshed.data.access_token));
    check(logout.response.status === 204, "no logout");
    validator.done();
    console.log(`flow: ${validator.count} answers valid against the document`);
  } finally {
    server.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  }
}

const binary = process.argv[2] ?? "../../target/debug/billing-identity";
main(binary).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
