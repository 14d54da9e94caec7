import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { and, eq } from "drizzle-orm";
import { getAddress, type Address } from "viem";
import { pointsTokenAbi } from "../../../../abi/pointsToken.ts";
import { purchaseProviders } from "../../db/purchasesSchema.ts";
import { platformEvents, relayJobs } from "../../db/relaySchema.ts";
import { tenants } from "../../db/schema.ts";
import type { Job, JobContext } from "../../relay/jobs.ts";
import { purchaseKind, purchaseReference, type PurchasePayload } from "../../relay/kinds/purchase.ts";
import { startWebhookDispatcher, type WebhookDispatcher } from "../../webhooks/dispatcher.ts";
import { assertInvalid, assertRefused, callersOf, type TenantCallers } from "../../../test/callers.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from "../../../test/webhookReceiver.ts";
import { signPurchaseWebhook } from "./webhook.ts";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";
/** 1 point (18 decimals) per cent. */
const RATE = 10n ** 18n;

let chain: TestChain;
let receiver: WebhookReceiver;
before(async () => {
  chain = await startTestChain();
  receiver = await startWebhookReceiver();
});
after(async () => {
  await receiver.close();
  await chain.close();
});

type Provider = { id: string; secret: string; tokenAddress: string; webhookPath: string };

for (const database of testDatabases()) {
  describe(`/purchases on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: TenantCallers;
    let aProvider: Provider;
    let bProvider: Provider;
    let bPurchaseId: string;

    const clients = () => chain.chains.get(chain.chains.ids()[0]!)!;
    const balanceOf = (token: string, holder: string) =>
      clients().publicClient.readContract({
        address: token as Address,
        abi: pointsTokenAbi,
        functionName: "balanceOf",
        args: [holder as Address],
      });

    const newProvider = async (tenant: TestTenant, body: Record<string, unknown> = {}) => {
      const created = await api.request("POST", "/purchases/providers", {
        token: tenant.adminToken,
        body: { name: "Payments Inc", currency: "EUR", pointsPerMinorUnit: RATE.toString(), ...body },
      });
      assert.equal(created.status, 201, created.text);
      return created.body as Provider;
    };

    /** Sends a webhook as the provider would: signed over the raw body with its timestamp. */
    const deliver = (
      provider: { id: string; secret: string },
      body: unknown,
      options: { timestamp?: number; signature?: string; rawBody?: string } = {},
    ) => {
      const rawBody = options.rawBody ?? JSON.stringify(body);
      const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
      return api.request("POST", `/purchases/webhooks/${provider.id}`, {
        rawBody,
        headers: {
          "content-type": "application/json",
          "x-pers-timestamp": String(timestamp),
          "x-pers-signature": options.signature ?? signPurchaseWebhook(provider.secret, timestamp, rawBody),
        },
      });
    };
    const payment = (
      customer: Record<string, string>,
      amount: number | string = 1999,
      paymentId: string = randomUUID(),
    ) => ({
      id: `evt_${randomUUID()}`,
      type: "payment.succeeded",
      data: { paymentId, amount, currency: "EUR", customer, method: "card" },
      livemode: false,
    });

    const jobContext = async (tenantId: string): Promise<JobContext> => {
      const [tenant] = await api.services.db.select().from(tenants).where(eq(tenants.id, tenantId));
      return { db: api.services.db, chain: clients(), tenant: tenant! };
    };
    const jobOf = async (jobId: string) => {
      const [job] = await api.services.db.select().from(relayJobs).where(eq(relayJobs.id, jobId));
      return job as unknown as Job<PurchasePayload>;
    };
    const purchaseJobsOf = (tenantId: string) =>
      api.services.db
        .select()
        .from(relayJobs)
        .where(and(eq(relayJobs.tenantId, tenantId), eq(relayJobs.kind, "purchase")));
    /** What the relayer does with a job: encode, send with the platform's signer, wait, settle. */
    const relay = async (job: Job<PurchasePayload>, context: JobContext) => {
      const call = await purchaseKind.encode([job], context);
      const hash = await context.chain.walletClient.sendTransaction(call);
      const receipt = await context.chain.publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "success");
      await purchaseKind.settle([job], receipt, context);
      return receipt;
    };

    before(async () => {
      api = await startTestApiOn(database, { chain, environment: { WEBHOOKS_ALLOW_HTTP: "true" } });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await callersOf(api, a, "a");
      aProvider = await newProvider(a);
      bProvider = await newProvider(b, { name: "B-private-provider", currency: "USD" });
      const { user } = await insertUser(api, b.id, { email: "b-buyer@b.test" });
      const bPayment = await deliver(bProvider, {
        id: "evt_b",
        type: "payment.succeeded",
        data: { paymentId: "B-private-payment", amount: 987654321, currency: "USD", customer: { userId: user.id } },
      });
      assert.equal(bPayment.status, 202, bPayment.text);
      bPurchaseId = bPayment.body.purchase.id;
    });
    after(() => api.close());

    it("registers a provider with a secret shown once, issuing the tenant's points token by default", async () => {
      assert.match(aProvider.secret, /^pers_ps_[A-Za-z0-9_-]{43}$/);
      assert.equal(aProvider.tokenAddress, getAddress(a.tenant.contracts.pointsToken));
      assert.equal(aProvider.webhookPath, `/purchases/webhooks/${aProvider.id}`);
      const read = await api.request("GET", `/purchases/providers/${aProvider.id}`, { token: a.adminToken });
      assert.equal(read.status, 200);
      assert.equal(read.body.currency, "EUR");
      assert.equal(read.body.pointsPerMinorUnit, RATE.toString());
      assert.equal(read.body.secret, undefined);
      assert.ok(!read.text.includes(aProvider.secret));
      const [row] = await api.services.db
        .select()
        .from(purchaseProviders)
        .where(eq(purchaseProviders.id, aProvider.id));
      assert.ok(!row!.secretCiphertext.includes(aProvider.secret));
      const list = await api.request("GET", "/purchases/providers", { token: a.adminToken });
      assert.ok(list.body.data.some((provider: { id: string }) => provider.id === aProvider.id));
      assert.ok(!list.text.includes(aProvider.secret));

      // The provider's own secret; a rotation replaces it with a random one, shown once.
      const own = await newProvider(a, { name: "Own secret", secret: "provider-made-secret-0123456789" });
      assert.equal(own.secret, "provider-made-secret-0123456789");
      const rotated = await api.request("POST", `/purchases/providers/${own.id}/rotate-secret`, {
        token: a.adminToken,
      });
      assert.equal(rotated.status, 200);
      assert.match(rotated.body.secret, /^pers_ps_/);
      const stale = await deliver(own, payment({ email: "nobody@a.test" }));
      assert.equal(stale.status, 401, "the old secret no longer verifies");
      const patched = await api.request("PATCH", `/purchases/providers/${own.id}`, {
        token: a.adminToken,
        body: { name: "Renamed", pointsPerMinorUnit: "5", secret: "another-provider-secret-987654" },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.name, "Renamed");
      assert.equal(patched.body.pointsPerMinorUnit, "5");
      assert.equal(patched.body.secret, undefined);
      assert.ok(!patched.text.includes("another-provider-secret-987654"));
      const ignored = await deliver(
        { id: own.id, secret: "another-provider-secret-987654" },
        {
          id: "evt_refund",
          type: "payment.refunded",
          data: {},
        },
      );
      assert.equal(ignored.status, 200, "the patched secret verifies");
      assert.equal(ignored.body.status, "IGNORED");
      const removed = await api.request("DELETE", `/purchases/providers/${own.id}`, { token: a.adminToken });
      assert.equal(removed.status, 204);
      assert.equal((await api.request("GET", `/purchases/providers/${own.id}`, { token: a.adminToken })).status, 404);
    });

    it("accepts a signed payment once: one purchase, one job, points issued exactly once on chain, webhook out", async () => {
      const { user } = await insertUser(api, a.id, { email: "buyer@a.test" });
      const endpoint = await api.request("POST", "/webhooks", {
        token: a.adminToken,
        body: { url: receiver.url(`/${database.name}/purchases`), eventTypes: ["purchase.completed"] },
      });
      assert.equal(endpoint.status, 201);
      const event = payment({ email: "buyer@a.test" }, 1999, "pay_1");
      const first = await deliver(aProvider, event);
      assert.equal(first.status, 202, first.text);
      assert.equal(first.body.status, "ACCEPTED");
      assert.equal(first.body.eventId, event.id);
      const purchase = first.body.purchase;
      assert.equal(purchase.status, "PENDING");
      assert.equal(purchase.userId, user.id);
      assert.equal(purchase.recipient, user.walletAddress);
      assert.equal(purchase.amountMinor, "1999");
      assert.equal(purchase.points, (1999n * RATE).toString());
      assert.equal(purchase.reference, purchaseReference(aProvider.id, "pay_1"));
      assert.equal(purchase.tokenAddress, aProvider.tokenAddress);

      // The same event again, and the same payment under another event id: no second job.
      const replay = await deliver(aProvider, event);
      assert.equal(replay.status, 200);
      assert.deepEqual(replay.body, first.body);
      const sameEventOtherBody = await deliver(aProvider, { ...event, data: { ...event.data, amount: 5 } });
      assert.deepEqual(sameEventOtherBody.body, first.body, "an event id is answered once, whatever it says later");
      const again = await deliver(aProvider, { ...event, id: `evt_${randomUUID()}` });
      assert.equal(again.status, 200);
      assert.equal(again.body.status, "DUPLICATE_PAYMENT");
      assert.equal(again.body.purchase.id, purchase.id);
      const jobs = await purchaseJobsOf(a.id);
      assert.equal(jobs.length, 1);
      assert.deepEqual(jobs[0]!.payload, {
        purchaseId: purchase.id,
        token: aProvider.tokenAddress,
        to: user.walletAddress,
        amount: (1999n * RATE).toString(),
        reference: purchaseReference(aProvider.id, "pay_1"),
      });

      const context = await jobContext(a.id);
      const job = await jobOf(jobs[0]!.id);
      const before = await balanceOf(aProvider.tokenAddress, user.walletAddress);
      const receipt = await relay(job, context);
      const after = await balanceOf(aProvider.tokenAddress, user.walletAddress);
      assert.equal(after - before, 1999n * RATE);

      const read = await api.request("GET", `/purchases/${purchase.id}`, { token: a.adminToken });
      assert.equal(read.status, 200);
      assert.equal(read.body.status, "COMPLETED");
      assert.equal(read.body.transactionHash, receipt.transactionHash);
      const events = await api.services.db
        .select()
        .from(platformEvents)
        .where(and(eq(platformEvents.tenantId, a.id), eq(platformEvents.type, "purchase.completed")));
      assert.equal(events.length, 1);
      assert.equal(events[0]!.data.purchaseId, purchase.id);
      assert.equal(events[0]!.data.points, (1999n * RATE).toString());

      // The relayer sending it again (a crash before it recorded the first) changes nothing: the
      // token refuses the reference, and the failed job settles as completed, once.
      const call = await purchaseKind.encode([job], context);
      await assert.rejects(context.chain.walletClient.sendTransaction(call), /TokenReferenceUsed|revert/i);
      await purchaseKind.fail([job], "execution reverted: TokenReferenceUsed", context);
      await purchaseKind.settle([job], receipt, context);
      assert.equal(await balanceOf(aProvider.tokenAddress, user.walletAddress), after);
      const still = await api.request("GET", `/purchases/${purchase.id}`, { token: a.adminToken });
      assert.equal(still.body.status, "COMPLETED");
      assert.equal(still.body.transactionHash, receipt.transactionHash);
      const eventsAfter = await api.services.db
        .select()
        .from(platformEvents)
        .where(and(eq(platformEvents.tenantId, a.id), eq(platformEvents.type, "purchase.completed")));
      assert.equal(eventsAfter.length, 1, "purchase.completed is recorded once");

      // purchase.completed goes out to the tenant's endpoint, signed.
      const dispatcher: WebhookDispatcher = startWebhookDispatcher({
        services: api.services,
        pollIntervalMs: 3_600_000,
      });
      try {
        await dispatcher.runOnce();
      } finally {
        await dispatcher.stop();
      }
      const [webhook] = receiver.on(`/${database.name}/purchases`);
      const out = verifyWebhook(endpoint.body.secret, webhook!);
      assert.equal(out.type, "purchase.completed");
      assert.equal(out.data.purchaseId, purchase.id);
      assert.equal(out.data.transactionHash, receipt.transactionHash);
    });

    it("completes a purchase whose issue was sent but not recorded; fails one that was never issued", async () => {
      const { user } = await insertUser(api, a.id, { externalId: "idp|crash" });
      const crashed = await deliver(aProvider, payment({ externalId: "idp|crash" }, 50, "pay_crash"));
      assert.equal(crashed.status, 202, crashed.text);
      const context = await jobContext(a.id);
      const jobs = await purchaseJobsOf(a.id);
      const job = await jobOf(jobs.find((row) => row.payload.purchaseId === crashed.body.purchase.id)!.id);
      const call = await purchaseKind.encode([job], context);
      const hash = await context.chain.walletClient.sendTransaction(call);
      await context.chain.publicClient.waitForTransactionReceipt({ hash });
      // The worker lost the receipt, sent again, and its call reverted: the purchase is nonetheless paid.
      await purchaseKind.fail([job], "execution reverted", context);
      const read = await api.request("GET", `/purchases/${crashed.body.purchase.id}`, { token: a.adminToken });
      assert.equal(read.body.status, "COMPLETED");
      assert.equal(read.body.transactionHash, hash);
      assert.equal(await balanceOf(aProvider.tokenAddress, user.walletAddress), 50n * RATE);

      const lost = await deliver(aProvider, payment({ userId: user.id }, 70, "pay_lost"));
      const lostJob = await jobOf(
        (await purchaseJobsOf(a.id)).find((row) => row.payload.purchaseId === lost.body.purchase.id)!.id,
      );
      await purchaseKind.fail([lostJob], "out of gas", context);
      const failed = await api.request("GET", `/purchases/${lost.body.purchase.id}`, { token: a.adminToken });
      assert.equal(failed.body.status, "FAILED");
      assert.equal(failed.body.error, "out of gas");
      assert.equal(await balanceOf(aProvider.tokenAddress, user.walletAddress), 50n * RATE);
    });

    it("refuses unsigned, badly signed, stale and malformed webhooks with problems, never a 500", async () => {
      const event = payment({ email: "buyer@a.test" }, 100, "pay_bad");
      const jobsBefore = (await purchaseJobsOf(a.id)).length;
      const now = Math.floor(Date.now() / 1000);
      const rawBody = JSON.stringify(event);
      const cases: [string, Promise<Awaited<ReturnType<typeof deliver>>>, number][] = [
        ["another secret", deliver({ id: aProvider.id, secret: bProvider.secret }, event), 401],
        [
          "signature of another body",
          deliver(aProvider, event, { signature: signPurchaseWebhook(aProvider.secret, now, "{}") }),
          401,
        ],
        [
          "signature for another timestamp",
          deliver(aProvider, event, {
            timestamp: now,
            signature: signPurchaseWebhook(aProvider.secret, now - 1, rawBody),
          }),
          401,
        ],
        ["signature not hex", deliver(aProvider, event, { signature: "sha256=zz" }), 401],
        // A minute past the 300 s tolerance: a slow machine's seconds between here and the check
        // must not bring a future timestamp back within it.
        ["old timestamp", deliver(aProvider, event, { timestamp: now - 360 }), 401],
        ["future timestamp", deliver(aProvider, event, { timestamp: now + 360 }), 401],
        ["no headers", api.request("POST", `/purchases/webhooks/${aProvider.id}`, { body: event }), 401],
        ["unknown provider", deliver({ id: UNKNOWN, secret: aProvider.secret }, event), 404],
        ["not an id", deliver({ id: "not-a-uuid", secret: aProvider.secret }, event), 404],
      ];
      for (const [what, response, status] of cases) {
        const answered = await response;
        assert.equal(answered.status, status, `${what}: ${answered.text}`);
        assert.ok(isProblem(answered), what);
      }
      const malformed = await deliver(aProvider, undefined, { rawBody: '{"id": "evt_x", "type": ' });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.type, "/problems/malformed-json");
      assertInvalid(await deliver(aProvider, { type: "payment.succeeded", data: {} }), ["body.id"]);
      assertInvalid(await deliver(aProvider, { ...event, data: { ...event.data, amount: -5, customer: {} } }), [
        "body.data.amount",
        "body.data.customer",
      ]);
      assertInvalid(await deliver(aProvider, { ...event, data: { ...event.data, amount: "12.50" } }), [
        "body.data.amount",
      ]);
      assertInvalid(
        await deliver(aProvider, {
          ...event,
          data: { ...event.data, customer: { email: "x@a.test", userId: UNKNOWN } },
        }),
        ["body.data.customer"],
      );
      const currency = await deliver(aProvider, { ...event, data: { ...event.data, currency: "USD" } });
      assert.equal(currency.status, 422);
      assert.ok(isProblem(currency));
      const stranger = await deliver(aProvider, payment({ email: "nobody@a.test" }));
      assert.equal(stranger.status, 422);
      // B's user is no customer of A's provider.
      const foreign = await deliver(aProvider, payment({ email: "b-buyer@b.test" }));
      assert.equal(foreign.status, 422);
      assert.equal((await purchaseJobsOf(a.id)).length, jobsBefore, "nothing refused made a job");
      // Refused events are not remembered: once the user exists, the provider's retry goes through.
      await insertUser(api, a.id, { email: "late@a.test" });
      const late = payment({ email: "late@a.test" });
      assert.equal((await deliver(aProvider, { ...late, data: { ...late.data, currency: "USD" } })).status, 422);
      assert.equal((await deliver(aProvider, late)).status, 202);
      // An email a user typed in themself matches nobody until the tenant vouches for it; the
      // provider's spelling of it does not matter.
      const { user: typist, token: typistToken } = await insertUser(api, a.id);
      const typed = await api.request("PATCH", `/users/${typist.id}`, {
        token: typistToken,
        body: { email: "someone-else@a.test" },
      });
      assert.equal(typed.status, 200, typed.text);
      assert.equal(typed.body.emailVerified, false);
      const unvouched = await deliver(aProvider, payment({ email: "someone-else@a.test" }));
      assert.equal(unvouched.status, 422);
      assert.ok(isProblem(unvouched));
      const vouched = await api.request("PATCH", `/users/${typist.id}`, {
        token: a.adminToken,
        body: { email: "someone-else@a.test" },
      });
      assert.equal(vouched.body.emailVerified, true);
      const shouted = await deliver(aProvider, payment({ email: "Someone-Else@A.test" }));
      assert.equal(shouted.status, 202, shouted.text);

      const off = await newProvider(a, { name: "Switched off" });
      await api.request("PATCH", `/purchases/providers/${off.id}`, { token: a.adminToken, body: { active: false } });
      const inactive = await deliver(off, payment({ email: "late@a.test" }));
      assert.equal(inactive.status, 404);
    });

    it("refuses bad provider bodies naming the field, tokens that are not the tenant's, deleting a provider with purchases", async () => {
      const post = (body: unknown) => api.request("POST", "/purchases/providers", { token: a.adminToken, body });
      assertInvalid(await post({ name: "x", currency: "eur", pointsPerMinorUnit: "1" }), ["body.currency"]);
      assertInvalid(await post({ name: "x", currency: "EUR", pointsPerMinorUnit: "0" }), ["body.pointsPerMinorUnit"]);
      assertInvalid(await post({ name: "x", currency: "EUR", pointsPerMinorUnit: "1.5" }), ["body.pointsPerMinorUnit"]);
      assertInvalid(await post({ name: "", currency: "EUR", pointsPerMinorUnit: "1", extra: 1 }), [
        "body.name",
        "body",
      ]);
      assertInvalid(await post({ name: "x", currency: "EUR", pointsPerMinorUnit: "1", secret: "short" }), [
        "body.secret",
      ]);
      assertInvalid(
        await post({
          name: "x",
          currency: "EUR",
          pointsPerMinorUnit: "1",
          tokenAddress: b.tenant.contracts.pointsToken,
        }),
        ["body.tokenAddress"],
      );
      assertInvalid(
        await post({
          name: "x",
          currency: "EUR",
          pointsPerMinorUnit: "1",
          tokenAddress: a.tenant.contracts.rewardToken,
        }),
        ["body.tokenAddress"],
      );
      const explicit = await post({
        name: "Explicit token",
        currency: "EUR",
        pointsPerMinorUnit: "1",
        tokenAddress: a.tenant.contracts.pointsToken.toLowerCase(),
      });
      assert.equal(explicit.status, 201);
      assert.equal(explicit.body.tokenAddress, aProvider.tokenAddress);
      assertInvalid(
        await api.request("PATCH", `/purchases/providers/${aProvider.id}`, {
          token: a.adminToken,
          body: { active: "no" },
        }),
        ["body.active"],
      );
      const busy = await api.request("DELETE", `/purchases/providers/${aProvider.id}`, { token: a.adminToken });
      assert.equal(busy.status, 409);
      assert.ok(isProblem(busy));
      assert.equal(
        (await api.request("GET", `/purchases/providers/${aProvider.id}`, { token: a.adminToken })).status,
        200,
      );
    });

    it("lets ADMIN and SYSTEM read every purchase and a USER only their own", async () => {
      const { user: buyer, token: buyerToken } = await insertUser(api, a.id, { email: "reader@a.test" });
      const mine = await deliver(aProvider, payment({ userId: buyer.id }, 10, "pay_reader"));
      assert.equal(mine.status, 202);
      const theirs = await deliver(aProvider, payment({ userId: aCallers.user.id }, 20, "pay_other"));
      assert.equal(theirs.status, 202);

      const all = await api.request("GET", "/purchases?limit=100", { ...aCallers.callers.SYSTEM });
      assert.equal(all.status, 200);
      const ids = all.body.data.map((row: { id: string }) => row.id);
      assert.ok(ids.includes(mine.body.purchase.id) && ids.includes(theirs.body.purchase.id));
      const own = await api.request("GET", "/purchases?limit=100", { token: buyerToken });
      assert.deepEqual(
        own.body.data.map((row: { id: string }) => row.id),
        [mine.body.purchase.id],
      );
      const sneaky = await api.request("GET", `/purchases?userId=${aCallers.user.id}`, { token: buyerToken });
      assert.equal(sneaky.body.data.length, 0);
      assert.equal(
        (await api.request("GET", `/purchases/${mine.body.purchase.id}`, { token: buyerToken })).status,
        200,
      );
      assertRefused(
        await api.request("GET", `/purchases/${theirs.body.purchase.id}`, { token: buyerToken }),
        ["pay_other"],
        "a USER reads another's purchase",
      );

      const filtered = await api.request(
        "GET",
        `/purchases?paymentId=pay_reader&status=PENDING&providerId=${aProvider.id}`,
        {
          token: a.adminToken,
        },
      );
      assert.deepEqual(
        filtered.body.data.map((row: { id: string }) => row.id),
        [mine.body.purchase.id],
      );
      const completed = await api.request("GET", "/purchases?status=COMPLETED&limit=100", { token: a.adminToken });
      assert.ok(completed.body.data.length >= 1);
      assert.ok(completed.body.data.every((row: { status: string }) => row.status === "COMPLETED"));
      assertInvalid(await api.request("GET", "/purchases?status=PAID", { token: a.adminToken }), ["query.status"]);
      assertInvalid(await api.request("GET", "/purchases/nope", { token: a.adminToken }), ["params.id"]);

      const anonymous = await api.request("GET", "/purchases");
      assert.equal(anonymous.status, 401);
      const business = await api.request("GET", "/purchases", { ...aCallers.callers.BUSINESS });
      assert.equal(business.status, 403);
      for (const level of ["USER", "BUSINESS", "SYSTEM"] as const) {
        for (const [method, path] of [
          ["GET", "/purchases/providers"],
          ["POST", "/purchases/providers"],
          ["GET", `/purchases/providers/${aProvider.id}`],
          ["PATCH", `/purchases/providers/${aProvider.id}`],
          ["POST", `/purchases/providers/${aProvider.id}/rotate-secret`],
          ["DELETE", `/purchases/providers/${aProvider.id}`],
        ] as const) {
          const body = method === "GET" ? undefined : {};
          const refused = await api.request(method, path, { ...aCallers.callers[level], body });
          assert.equal(refused.status, 403, `${level} ${method} ${path}`);
        }
      }
      assert.equal((await api.request("GET", "/purchases/providers")).status, 401);
    });

    it("keeps tenants apart: A never reads B's providers or purchases, nor pays through B's provider", async () => {
      const hidden = ["B-private-provider", "B-private-payment", bProvider.secret, "987654321"];
      const routes: [string, string, unknown?][] = [
        ["GET", `/purchases/providers/${bProvider.id}`],
        ["PATCH", `/purchases/providers/${bProvider.id}`, { name: "taken" }],
        ["POST", `/purchases/providers/${bProvider.id}/rotate-secret`],
        ["DELETE", `/purchases/providers/${bProvider.id}`],
        ["GET", `/purchases/${bPurchaseId}`],
      ];
      for (const [method, path, body] of routes) {
        for (const level of ["USER", "BUSINESS", "ADMIN", "SYSTEM"] as const) {
          const response = await api.request(method, path, { ...aCallers.callers[level], body });
          assertRefused(response, hidden, `${level} ${method} ${path}`);
          if (level === "ADMIN") assert.equal(response.status, 404, `${method} ${path}`);
        }
      }
      for (const level of ["USER", "ADMIN", "SYSTEM"] as const) {
        const list = await api.request("GET", "/purchases?limit=100", { ...aCallers.callers[level] });
        assert.equal(list.status, 200);
        for (const value of hidden) assert.ok(!list.text.includes(value), `${level} sees ${value}`);
      }
      const providers = await api.request("GET", "/purchases/providers?limit=100", { token: a.adminToken });
      assert.ok(!providers.text.includes("B-private-provider"));
      // A's secret does not sign for B's provider, and an A customer is no customer of B.
      const forged = await deliver({ id: bProvider.id, secret: aProvider.secret }, payment({ email: "buyer@a.test" }));
      assert.equal(forged.status, 401);
      const bRead = await api.request("GET", `/purchases/${bPurchaseId}`, { token: b.adminToken });
      assert.equal(bRead.status, 200);
      assert.equal(bRead.body.paymentId, "B-private-payment");
      assert.equal(bRead.body.amountMinor, "987654321");
      assert.equal(bRead.body.currency, "USD");
      const bProviderRead = await api.request("GET", `/purchases/providers/${bProvider.id}`, { token: b.adminToken });
      assert.equal(bProviderRead.body.name, "B-private-provider");
    });
  });
}
