// Callers of every level inside one test tenant, and the assertion that a caller was refused
// without seeing data it must not see. For the isolation tests of every resource.
import assert from "node:assert/strict";
import {
  insertUser,
  isProblem,
  tokenFor,
  type RequestOptions,
  type TestApi,
  type TestResponse,
  type TestTenant,
} from "./harness.ts";

export type Credential = Pick<RequestOptions, "token" | "apiKey" | "projectKey">;
export type CallerLevel = "PUBLIC" | "USER" | "BUSINESS" | "ADMIN" | "SYSTEM";

export type TenantCallers = {
  callers: Record<CallerLevel, Credential>;
  /** The USER caller's row. */
  user: Awaited<ReturnType<typeof insertUser>>["user"];
  /** The business the BUSINESS caller acts for (created through POST /businesses) and its member. */
  business: { id: string; name: string; walletAddress: string };
  member: Awaited<ReturnType<typeof insertUser>>["user"];
  systemKey: string;
};

/** A USER, a member acting for a new business (BUSINESS), the admin, a SYSTEM API key and the project key. */
export async function callersOf(api: TestApi, tenant: TestTenant, label = "caller"): Promise<TenantCallers> {
  const { user, token: userToken } = await insertUser(api, tenant.id, { email: `${label}-user@${tenant.id}.test` });
  const { user: member } = await insertUser(api, tenant.id, { email: `${label}-member@${tenant.id}.test` });
  const created = await api.request("POST", "/businesses", {
    token: tenant.adminToken,
    body: { name: `${label} business ${tenant.id.slice(0, 8)}` },
  });
  if (created.status !== 201) throw new Error(`callersOf: business ${created.status} ${created.text}`);
  const business = created.body;
  const joined = await api.request("POST", `/businesses/${business.id}/members`, {
    token: tenant.adminToken,
    body: { userId: member.id },
  });
  if (joined.status !== 201) throw new Error(`callersOf: member ${joined.status} ${joined.text}`);
  const key = await api.request("POST", "/api-keys", {
    token: tenant.adminToken,
    body: { name: `${label} system`, level: "SYSTEM" },
  });
  if (key.status !== 201) throw new Error(`callersOf: API key ${key.status} ${key.text}`);
  const businessToken = await tokenFor(api, {
    tenantId: tenant.id,
    level: "BUSINESS",
    subject: `user:${member.id}`,
    businessId: business.id,
  });
  return {
    callers: {
      PUBLIC: { projectKey: tenant.projectKey },
      USER: { token: userToken },
      BUSINESS: { token: businessToken },
      ADMIN: { token: tenant.adminToken },
      SYSTEM: { apiKey: key.body.key },
    },
    user,
    business,
    member,
    systemKey: key.body.key,
  };
}

/** A 403 or 404 problem whose text shows none of the hidden values. */
export function assertRefused(response: TestResponse, hidden: string[], what: string) {
  assert.ok(
    [403, 404].includes(response.status),
    `${what}: expected 403 or 404, got ${response.status} ${response.text}`,
  );
  assert.ok(isProblem(response), `${what}: not a problem document`);
  for (const value of hidden) {
    assert.ok(!response.text.toLowerCase().includes(value.toLowerCase()), `${what}: the response shows ${value}`);
  }
}

/** The 403 a route managing admins or API keys gives a caller that is not an admin signed in with a password. */
export function assertNeedsSignedInAdmin(response: TestResponse, what: string) {
  assert.equal(response.status, 403, `${what}: ${response.text}`);
  assert.ok(isProblem(response));
  assert.equal(response.body.type, "/problems/forbidden");
  assert.match(response.body.detail, /^Sign in as an admin/);
}

/** Asserts a 400 validation problem naming each of these fields (e.g. "body.email"). */
export function assertInvalid(response: TestResponse, fields: string[]) {
  assert.equal(response.status, 400, response.text);
  assert.equal(response.body.type, "/problems/validation-failed");
  const paths = response.body.errors.map((error: { path: string }) => error.path);
  for (const field of fields) assert.ok(paths.includes(field), `${field} missing from ${paths.join(", ")}`);
}
