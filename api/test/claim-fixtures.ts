// Campaigns on chain for the claim and relay tests: made through the API (with a points payout and
// the businesses engaged), made ACTIVE, and published by running their campaign jobs by hand.
import assert from "node:assert/strict";
import { campaignKind } from "../src/relay/kinds/campaign.ts";
import type { TestApi, TestChain, TestTenant } from "./harness.ts";
import { runJobs } from "./relay-by-hand.ts";

export type PublishedCampaign = { id: string; onchainCampaignId: string };

export async function publishedCampaign(
  api: TestApi,
  chain: TestChain,
  tenant: TestTenant,
  body: Record<string, unknown> = {},
  options: { amount?: string; engage?: { businessId: string; maxClaims?: number }[]; publish?: boolean } = {},
): Promise<PublishedCampaign> {
  const token = tenant.adminToken;
  const created = await api.request("POST", "/campaigns", {
    token,
    body: { title: `Campaign ${Math.random().toString(36).slice(2, 8)}`, ...body },
  });
  assert.equal(created.status, 201, created.text);
  const id = created.body.id as string;
  const payout = await api.request("POST", `/campaigns/${id}/tokens`, {
    token,
    body: { tokenAddress: tenant.tenant.contracts.pointsToken, amount: options.amount ?? "10" },
  });
  assert.equal(payout.status, 201, payout.text);
  for (const engagement of options.engage ?? []) {
    const engaged = await api.request("POST", `/campaigns/${id}/engagements`, { token, body: engagement });
    assert.equal(engaged.status, 201, engaged.text);
  }
  if (body.status !== "ACTIVE") {
    const activated = await api.request("PATCH", `/campaigns/${id}`, { token, body: { status: "ACTIVE" } });
    assert.equal(activated.status, 200, activated.text);
  }
  if (options.publish === false) return { id, onchainCampaignId: "" };
  await runJobs(api, chain, campaignKind);
  const read = await api.request("GET", `/campaigns/${id}`, { token });
  assert.ok(read.body.onchainCampaignId, `campaign ${id} was not published: ${read.text}`);
  return { id, onchainCampaignId: read.body.onchainCampaignId };
}
