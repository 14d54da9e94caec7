// The demo tenant as a platform would create it: through the API (which deploys its suite with
// Hardhat's account 1 as the tenant's admin), then an API key made by its admin.
import { getAddress, type Address, type Hex } from "viem";
import type { Deployment } from "../deploy/deployment-file.ts";
import type { TenantSuite } from "../deploy/tenant.ts";

export type DemoApiTenant = {
  tenantId: string;
  projectKey: string;
  apiKey: string;
  onchain: { tenantId: Hex; suite: TenantSuite };
};

async function call(url: string, init: RequestInit & { json?: unknown }) {
  const response = await fetch(url, {
    ...init,
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.json !== undefined && { body: JSON.stringify(init.json) }),
  });
  const body = (await response.json()) as any;
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export async function createDemoTenantThroughApi(
  apiUrl: string,
  platformKey: string,
  deployment: Deployment,
  /** The tenant's admin wallet: Hardhat's account 1 in the demo. */
  admin: Address,
  login: { email: string; password: string },
): Promise<DemoApiTenant> {
  const { tenant } = await call(`${apiUrl}/tenants`, {
    method: "POST",
    headers: { "x-api-key": platformKey },
    json: {
      name: "Demo",
      externalId: "demo",
      chainId: deployment.chainId,
      adminAddress: admin,
      points: { name: "Demo Points", symbol: "DEMO", decimals: 18 },
      rewardUri: "https://example.com/demo/rewards/{id}.json",
      statusUri: "https://example.com/demo/status/{id}.json",
      admin: { email: login.email, name: "Demo admin", password: login.password },
    },
  });
  const session = await call(`${apiUrl}/auth/token`, {
    method: "POST",
    headers: { "x-project-key": tenant.projectKey },
    json: { type: "password", ...login },
  });
  const key = await call(`${apiUrl}/api-keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${session.accessToken}` },
    json: { name: "demo integration", level: "SYSTEM" },
  });
  const contracts = tenant.contracts as Record<keyof TenantSuite, string>;
  return {
    tenantId: tenant.id,
    projectKey: tenant.projectKey,
    apiKey: key.key,
    onchain: {
      tenantId: tenant.onchainId,
      suite: {
        pointsToken: getAddress(contracts.pointsToken),
        rewardToken: getAddress(contracts.rewardToken),
        statusToken: getAddress(contracts.statusToken),
        campaignRegistry: getAddress(contracts.campaignRegistry),
        redemptionRegistry: getAddress(contracts.redemptionRegistry),
      },
    },
  };
}
