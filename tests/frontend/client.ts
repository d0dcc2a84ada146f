import createClient from "openapi-fetch";
import type { paths, components } from "./schema";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });

export async function signIn(login: string, password: string): Promise<string | undefined> {
  const { data, error } = await client.POST("/api/v1/auth/login", {
    body: { provider: "acme", login, password },
  });
  if (error) {
    // `code` is a closed set: comparing it with a code the service never answers would not
    // compile.
    if (error.code === "account_locked" || error.code === "too_many_attempts") {
      throw new Error("wait, or ask for a one-time key");
    }
    const code: string = error.code;
    throw new Error(code);
  }
  if ("mfa_required" in data) {
    return data.challenge_id;
  }
  return data.access_token;
}

export async function report(id: string): Promise<components["schemas"]["ComplianceReport"] | undefined> {
  const { data } = await client.GET("/api/v1/providers/{id}/compliance-report", {
    params: { path: { id } },
  });
  return data;
}
