// Who is calling. Every route names the levels it admits; the tenant a caller acts for comes from
// their credential (or, for public reads, from X-Project-Key) and never from the request body.
export const LEVELS = ["USER", "BUSINESS", "ADMIN", "SYSTEM"] as const;
export type Level = (typeof LEVELS)[number];

export type TenantPrincipal = {
  kind: "tenant";
  tenantId: string;
  level: Level;
  /** `user:<id>`, `admin:<id>` or `key:<id>`: the JWT subject, also the per-key rate-limit key. */
  subject: string;
  userId?: string;
  adminId?: string;
  apiKeyId?: string;
  /** The business a BUSINESS-level caller acts for. */
  businessId?: string;
};

export type Principal =
  /** The platform's own credential: creates and lists tenants, nothing inside them. */
  | { kind: "platform"; subject: "platform" }
  | TenantPrincipal
  /** Only X-Project-Key: public reads of one tenant. */
  | { kind: "public"; tenantId: string };

/** Which callers a route admits. */
export type Access =
  | { kind: "none" }
  | { kind: "platform" }
  | { kind: "tenant"; levels: readonly Level[]; orPlatform?: boolean; signedIn?: boolean }
  /** Anyone who names the tenant: X-Project-Key or a tenant credential. */
  | { kind: "public" };

export const access = {
  none: { kind: "none" } as Access,
  platform: { kind: "platform" } as Access,
  public: { kind: "public" } as Access,
  levels: (...levels: Level[]): Access => ({ kind: "tenant", levels }),
  /** The platform, or a tenant's caller at one of these levels (the handler narrows to their tenant). */
  platformOr: (...levels: Level[]): Access => ({ kind: "tenant", levels, orPlatform: true }),
  /**
   * An admin signed in with their password (a principal with an adminId), not an API key, even an
   * ADMIN one, nor a session exchanged for one: for managing admins and API keys, where a leaked key
   * could otherwise make keys that outlive its own revocation, or deactivate and re-password the
   * tenant's admins and lock its people out.
   */
  signedInAdmin: { kind: "tenant", levels: ["ADMIN"], signedIn: true } as Access,
};
