import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { webhookEndpoints } from "../../db/webhooksSchema.ts";
import { recordEvent, type EventType } from "../../events/outbox.ts";
import { startWebhookDispatcher, type WebhookDispatcher } from "../../webhooks/dispatcher.ts";
import { openEndpointSecret } from "../../webhooks/secrets.ts";
import { assertInvalid, assertRefused, callersOf, type TenantCallers } from "../../../test/callers.ts";
import {
  createTestTenant,
  isProblem,
  startTestApi,
  startTestChain,
  testDatabases,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";
import { SAFE_URLS, UNSAFE_URLS } from "../../../test/unsafeUrls.ts";
import { startWebhookReceiver, until, verifyWebhook, type WebhookReceiver } from "../../../test/webhookReceiver.ts";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

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

for (const database of testDatabases()) {
  describe(`/webhooks on ${database.name}`, () => {
    let api: TestApi;
    let drop: () => Promise<void>;
    let dispatcher: WebhookDispatcher;
    /** The dispatcher's clock runs this far ahead of the wall clock. */
    let offsetMs = 0;
    const clock = () => new Date(Date.now() + offsetMs);
    let a: TestTenant;
    let b: TestTenant;
    let aCallers: TenantCallers;
    let bCallers: TenantCallers;
    let bEndpoint: { id: string; url: string; secret: string; path: string };
    let bDeliveryId: string;
    let run = 0;

    /** A fresh receiver path per endpoint, so that tests never see each other's deliveries. */
    const newPath = (label: string) => `/${database.name}/${label}/${++run}`;
    const register = async (tenant: TestTenant, label: string, eventTypes: EventType[], description?: string) => {
      const path = newPath(label);
      const created = await api.request("POST", "/webhooks", {
        token: tenant.adminToken,
        body: { url: receiver.url(path), eventTypes, ...(description && { description }) },
      });
      assert.equal(created.status, 201, created.text);
      return { ...created.body, path } as { id: string; url: string; secret: string; path: string };
    };
    const emit = (tenantId: string | null, type: EventType, data: Record<string, unknown> = {}) =>
      recordEvent(api.services.db, { tenantId, type, data });
    const deliveriesOf = async (tenant: TestTenant, endpointId: string, query = "") => {
      const list = await api.request("GET", `/webhooks/${endpointId}/deliveries${query}`, { token: tenant.adminToken });
      assert.equal(list.status, 200, list.text);
      return list.body.data as any[];
    };
    const deliveryOf = async (tenant: TestTenant, endpointId: string, deliveryId: string) => {
      const read = await api.request("GET", `/webhooks/${endpointId}/deliveries/${deliveryId}`, {
        token: tenant.adminToken,
      });
      assert.equal(read.status, 200, read.text);
      return read.body;
    };

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      api = await startTestApi({
        database: opened.parameters,
        chain,
        environment: {
          WEBHOOKS_ALLOW_HTTP: "true",
          WEBHOOK_RETRY_SCHEDULE_SECONDS: "5,30,120",
          WEBHOOK_TIMEOUT_MS: "1000",
        },
      });
      // Rounds only when a test asks (runOnce), on a clock the tests move.
      dispatcher = startWebhookDispatcher({
        services: api.services,
        pollIntervalMs: 3_600_000,
        now: clock,
      });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      aCallers = await callersOf(api, a, "a");
      bCallers = await callersOf(api, b, "b");
      bEndpoint = await register(b, "b-private", ["claim.confirmed", "purchase.completed"], "B-secret-description");
      await emit(b.id, "purchase.completed", { purchaseId: "B-private-purchase" });
      await dispatcher.runOnce();
      const [delivery] = await deliveriesOf(b, bEndpoint.id);
      bDeliveryId = delivery.id;
    });
    after(async () => {
      await dispatcher.stop();
      await api.close();
      await drop();
    });

    it("registers an endpoint with a Standard Webhooks secret shown once and sealed to the endpoint", async () => {
      const created = await register(a, "created", ["claim.confirmed", "claim.failed"], "Orders");
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(created.url, receiver.url(created.path));
      assert.deepEqual((created as any).eventTypes, ["claim.confirmed", "claim.failed"]);
      assert.equal((created as any).description, "Orders");
      assert.equal((created as any).active, true);
      const [row] = await api.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.id));
      assert.ok(!row!.secretCiphertext.includes(created.secret.slice(6)));
      assert.equal(openEndpointSecret(api.config.MASTER_KEY, created.id, row!.secretCiphertext), created.secret);
      assert.throws(() => openEndpointSecret(api.config.MASTER_KEY, bEndpoint.id, row!.secretCiphertext));

      const read = await api.request("GET", `/webhooks/${created.id}`, { token: a.adminToken });
      assert.equal(read.status, 200);
      assert.equal(read.body.secret, undefined);
      assert.ok(!read.text.includes(created.secret));
      const list = await api.request("GET", "/webhooks?eventType=claim.failed", { token: a.adminToken });
      assert.equal(list.status, 200);
      assert.ok(list.body.data.some((endpoint: { id: string }) => endpoint.id === created.id));
      assert.ok(
        list.body.data.every((endpoint: { eventTypes: string[] }) => endpoint.eventTypes.includes("claim.failed")),
      );
      assert.ok(!list.text.includes(created.secret));
      const other = await register(a, "other", ["claim.confirmed"]);
      assert.notEqual(other.secret, created.secret);
    });

    it("delivers a tenant's event once to its subscribed endpoints, signed and verifiable", async () => {
      const subscribed = await register(a, "subscribed", ["claim.confirmed"]);
      const elsewhere = await register(a, "elsewhere", ["redemption.completed"]);
      const eventId = await emit(a.id, "claim.confirmed", { claimId: "c-1", amount: "100" });
      const round = await dispatcher.runOnce();
      assert.ok(round.dispatched >= 1);

      const [webhook, ...more] = receiver.on(subscribed.path);
      assert.ok(webhook, "the subscribed endpoint got the event");
      assert.equal(more.length, 0);
      const payload = verifyWebhook(subscribed.secret, webhook);
      assert.equal(payload.id, eventId);
      assert.equal(payload.type, "claim.confirmed");
      assert.deepEqual(payload.data, { claimId: "c-1", amount: "100" });
      assert.equal(webhook.headers["webhook-id"], eventId);
      assert.ok(Math.abs(Number(webhook.headers["webhook-timestamp"]) - Date.now() / 1000) < 30);
      assert.throws(() => verifyWebhook(bEndpoint.secret, webhook), "another secret does not verify it");
      assert.throws(() => verifyWebhook(subscribed.secret, { ...webhook, body: webhook.body.replace("100", "999") }));
      assert.equal(receiver.on(elsewhere.path).length, 0, "an endpoint of other events got nothing");
      assert.ok(!receiver.on(bEndpoint.path).some((received) => received.body.includes(eventId)), "B got nothing");

      const [delivery, ...others] = await deliveriesOf(a, subscribed.id);
      assert.equal(others.length, 0);
      assert.equal(delivery.eventId, eventId);
      assert.equal(delivery.eventType, "claim.confirmed");
      assert.equal(delivery.status, "SUCCEEDED");
      assert.equal(delivery.attempts, 1);
      assert.equal(delivery.lastStatusCode, 200);
      assert.equal(delivery.nextAttemptAt, null);
      const detail = await deliveryOf(a, subscribed.id, delivery.id);
      assert.deepEqual(detail.payload, payload);
      assert.equal(detail.attemptLog.length, 1);
      assert.equal(detail.attemptLog[0].statusCode, 200);
      assert.equal(detail.attemptLog[0].responseExcerpt, "ok");
      assert.equal(detail.attemptLog[0].error, null);
      assert.equal(detail.attemptLog[0].manual, false);
      assert.ok(Number.isInteger(detail.attemptLog[0].durationMs) && detail.attemptLog[0].durationMs >= 0);
      assert.ok(!JSON.stringify(detail).includes(subscribed.secret));

      await dispatcher.runOnce();
      assert.equal(receiver.on(subscribed.path).length, 1, "an event is dispatched once");
    });

    it("delivers a platform-wide event to every tenant's endpoints subscribed to it, and only those", async () => {
      const aLow = await register(a, "a-low", ["signer.balance_low"]);
      const bLow = await register(b, "b-low", ["signer.balance_low"]);
      const aOther = await register(a, "a-other", ["claim.failed"]);
      const eventId = await emit(null, "signer.balance_low", { chainId: 31337, balance: "1" });
      await dispatcher.runOnce();
      assert.equal(verifyWebhook(aLow.secret, receiver.on(aLow.path)[0]!).id, eventId);
      assert.equal(verifyWebhook(bLow.secret, receiver.on(bLow.path)[0]!).id, eventId);
      assert.equal(receiver.on(aOther.path).length, 0);
      assert.equal((await deliveriesOf(b, bLow.id))[0].eventId, eventId);
    });

    it("retries a failing endpoint with back-off, then fails it; a redelivery by hand sends it again", async () => {
      const failing = await register(a, "failing", ["purchase.completed"]);
      receiver.answer(failing.path, { status: 500, body: "boom" });
      const eventId = await emit(a.id, "purchase.completed", { purchaseId: "p-1" });
      await dispatcher.runOnce();
      assert.equal(receiver.on(failing.path).length, 1);
      let [delivery] = await deliveriesOf(a, failing.id);
      assert.equal(delivery.status, "PENDING");
      assert.equal(delivery.attempts, 1);
      assert.equal(delivery.lastStatusCode, 500);
      assert.equal(delivery.lastError, "answered 500");
      const firstWait = Date.parse(delivery.nextAttemptAt) - Date.parse(delivery.lastAttemptAt);
      assert.ok(Math.abs(firstWait - 5_000) < 50, `first retry after 5 s, not ${firstWait} ms`);

      // Not before the back-off: 4 s later nothing is sent; at 5 s the second attempt goes.
      offsetMs += 4_000;
      await dispatcher.runOnce();
      assert.equal(receiver.on(failing.path).length, 1);
      for (const [advance, attempts] of [
        [1_000, 2],
        [30_000, 3],
        [120_000, 4],
      ] as const) {
        offsetMs += advance;
        await dispatcher.runOnce();
        assert.equal(receiver.on(failing.path).length, attempts, `attempt ${attempts}`);
      }
      [delivery] = await deliveriesOf(a, failing.id);
      assert.equal(delivery.status, "FAILED", "the schedule (5, 30, 120 s) allows four attempts");
      assert.equal(delivery.attempts, 4);
      assert.equal(delivery.nextAttemptAt, null);
      offsetMs += 3_600_000;
      await dispatcher.runOnce();
      assert.equal(receiver.on(failing.path).length, 4, "a failed delivery is not retried by itself");
      const failed = await deliveriesOf(a, failing.id, "?status=FAILED&eventType=purchase.completed");
      assert.deepEqual(
        failed.map((row) => row.id),
        [delivery.id],
      );
      assert.equal((await deliveriesOf(a, failing.id, "?status=SUCCEEDED")).length, 0);

      receiver.answer(failing.path, { status: 204 });
      const redelivered = await api.request("POST", `/webhooks/${failing.id}/deliveries/${delivery.id}/redeliver`, {
        token: a.adminToken,
      });
      assert.equal(redelivered.status, 202, redelivered.text);
      assert.equal(redelivered.body.status, "PENDING");
      await dispatcher.runOnce();
      const detail = await deliveryOf(a, failing.id, delivery.id);
      assert.equal(detail.status, "SUCCEEDED");
      assert.equal(detail.attempts, 5);
      assert.deepEqual(
        detail.attemptLog.map((attempt: any) => [attempt.statusCode, attempt.manual]),
        [
          [500, false],
          [500, false],
          [500, false],
          [500, false],
          [204, true],
        ],
      );
      assert.equal(detail.attemptLog[0].responseExcerpt, "boom");
      assert.equal(detail.attemptLog[0].error, "answered 500");
      const sent = receiver.on(failing.path);
      assert.equal(sent.length, 5);
      assert.ok(
        sent.every((webhook) => webhook.headers["webhook-id"] === eventId),
        "one webhook-id on every attempt",
      );
      assert.ok(sent.every((webhook) => verifyWebhook(failing.secret, webhook).id === eventId));
    });

    it("never follows a redirect and gives up on a receiver that does not answer in time", async () => {
      const target = newPath("redirect-target");
      const redirecting = await register(a, "redirecting", ["claim.failed"]);
      receiver.answer(redirecting.path, { status: 302, headers: { location: receiver.url(target) } });
      const hanging = await register(a, "hanging", ["claim.failed"]);
      receiver.answer(hanging.path, "hang");
      await emit(a.id, "claim.failed", { claimId: "c-2" });
      await dispatcher.runOnce();
      assert.equal(receiver.on(redirecting.path).length, 1);
      assert.equal(receiver.on(target).length, 0, "the redirect was not followed");
      const [redirected] = await deliveriesOf(a, redirecting.id);
      assert.equal(redirected.status, "PENDING");
      assert.equal(redirected.lastStatusCode, 302);
      assert.match(redirected.lastError, /redirect to .* not followed/);
      const [timedOut] = await deliveriesOf(a, hanging.id);
      assert.equal(timedOut.status, "PENDING");
      assert.equal(timedOut.lastStatusCode, null);
      assert.equal(timedOut.lastError, "no answer within 1000 ms");
      const detail = await deliveryOf(a, hanging.id, timedOut.id);
      assert.ok(detail.attemptLog[0].durationMs >= 900, `took ${detail.attemptLog[0].durationMs} ms`);
      // Deactivated, their pending retries fail at their next turn instead of being sent.
      for (const endpoint of [redirecting, hanging]) {
        await api.request("PATCH", `/webhooks/${endpoint.id}`, { token: a.adminToken, body: { active: false } });
      }
      offsetMs += 5_000;
      await dispatcher.runOnce();
      assert.equal(receiver.on(hanging.path).length, 1);
      const [deactivated] = await deliveriesOf(a, hanging.id);
      assert.equal(deactivated.status, "FAILED");
      assert.equal(deactivated.lastError, "the endpoint was deactivated");
      assert.equal(deactivated.attempts, 1);
    });

    it("logs an answer holding a NUL byte (which a text column refuses) and settles the delivery", async () => {
      const endpoint = await register(a, "nul-answer", ["claim.confirmed"]);
      receiver.answer(endpoint.path, { status: 200, body: "ok\u0000done" });
      await emit(a.id, "claim.confirmed", { claimId: "c-nul" });
      await dispatcher.runOnce();
      const [delivery] = await deliveriesOf(a, endpoint.id);
      assert.equal(delivery.status, "SUCCEEDED");
      assert.equal(delivery.attempts, 1);
      const detail = await deliveryOf(a, endpoint.id, delivery.id);
      assert.deepEqual(
        detail.attemptLog.map((attempt: any) => [attempt.statusCode, attempt.responseExcerpt]),
        [[200, "ok\uFFFDdone"]],
      );
      // Past the lease: an attempt that could not be logged would be sent again here.
      offsetMs += 60_000;
      await dispatcher.runOnce();
      assert.equal(receiver.on(endpoint.path).length, 1);
    });

    it("refuses to redeliver a delivery whose attempt is in flight, so it is sent and counted once", async () => {
      const endpoint = await register(a, "in-flight", ["claim.failed"]);
      receiver.answer(endpoint.path, "hang");
      await emit(a.id, "claim.failed", { claimId: "c-in-flight" });
      const round = dispatcher.runOnce();
      await until(() => receiver.on(endpoint.path).length === 1, 5_000, "the attempt to start");
      const [delivery] = await deliveriesOf(a, endpoint.id);
      const redeliver = () =>
        api.request("POST", `/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`, { token: a.adminToken });
      const refused = await redeliver();
      assert.equal(refused.status, 409, refused.text);
      assert.ok(isProblem(refused));
      assert.equal(refused.body.type, "/problems/conflict");
      assert.match(refused.body.detail, /attempt .* in flight/);
      await round;
      await dispatcher.runOnce();
      assert.equal(receiver.on(endpoint.path).length, 1, "sent once");
      const [timedOut] = await deliveriesOf(a, endpoint.id);
      assert.equal(timedOut.status, "PENDING");
      assert.equal(timedOut.attempts, 1);
      assert.equal(timedOut.lastError, "no answer within 1000 ms");

      // Once that attempt is logged, a redelivery is queued and sent.
      receiver.answer(endpoint.path, { status: 200 });
      const accepted = await redeliver();
      assert.equal(accepted.status, 202, accepted.text);
      await dispatcher.runOnce();
      const detail = await deliveryOf(a, endpoint.id, delivery.id);
      assert.equal(detail.status, "SUCCEEDED");
      assert.equal(detail.attempts, 2);
      assert.deepEqual(
        detail.attemptLog.map((attempt: any) => [attempt.statusCode, attempt.manual]),
        [
          [null, false],
          [200, true],
        ],
      );
      assert.equal(receiver.on(endpoint.path).length, 2);
    });

    it("counts an attempt that outlived its lease, without letting it overwrite the attempt that took over", async () => {
      const endpoint = await register(a, "outlived", ["redemption.completed"]);
      receiver.answer(endpoint.path, "hang");
      await emit(a.id, "redemption.completed", { redemptionId: "r-outlived" });
      const first = dispatcher.runOnce();
      await until(() => receiver.on(endpoint.path).length === 1, 5_000, "the first attempt to start");
      // The lease (the timeout and 30 s) runs out on the dispatcher's clock: another round takes it over.
      offsetMs += 32_000;
      const second = dispatcher.runOnce();
      await until(() => receiver.on(endpoint.path).length === 2, 5_000, "the second attempt to start");
      await Promise.all([first, second]);
      const [delivery] = await deliveriesOf(a, endpoint.id);
      const detail = await deliveryOf(a, endpoint.id, delivery.id);
      assert.equal(detail.attemptLog.length, 2);
      assert.equal(detail.attempts, 2);
      assert.equal(detail.status, "PENDING");
      // The second attempt settled it, as the second: the wait after two attempts is 30 s, not 5 s.
      const wait = Date.parse(detail.nextAttemptAt) - Date.parse(detail.lastAttemptAt);
      assert.equal(wait, 30_000);
    });

    it("rotates a secret, shown once: the old one signs beside it for a day by default, or not at all", async () => {
      const endpoint = await register(a, "rotating", ["transaction.confirmed"]);
      const rotated = await api.request("POST", `/webhooks/${endpoint.id}/rotate-secret`, { token: a.adminToken });
      assert.equal(rotated.status, 200, rotated.text);
      assert.match(rotated.body.secret, /^whsec_/);
      assert.notEqual(rotated.body.secret, endpoint.secret);
      const expiresIn = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
      assert.ok(Math.abs(expiresIn - 24 * 3_600_000) < 60_000, `the old secret is kept a day, not ${expiresIn} ms`);
      const read = await api.request("GET", `/webhooks/${endpoint.id}`, { token: a.adminToken });
      assert.ok(!read.text.includes(rotated.body.secret));
      assert.equal(read.body.previousSecretExpiresAt, rotated.body.previousSecretExpiresAt);

      const deliver = async (hash: string) => {
        await emit(a.id, "transaction.confirmed", { hash });
        await dispatcher.runOnce();
        const webhook = receiver.on(endpoint.path).find((received) => received.body.includes(hash));
        assert.ok(webhook, `a delivery of ${hash}`);
        return webhook;
      };
      // Receivers still on the old secret and those already on the new one both verify it.
      const during = await deliver("0x01");
      assert.equal(String(during.headers["webhook-signature"]).split(" ").length, 2);
      assert.equal(verifyWebhook(rotated.body.secret, during).type, "transaction.confirmed");
      assert.equal(verifyWebhook(endpoint.secret, during).type, "transaction.confirmed");

      // A day later the old secret signs no more.
      offsetMs += 24 * 3_600_000 + 60_000;
      try {
        const after = await deliver("0x02");
        assert.equal(verifyWebhook(rotated.body.secret, after).type, "transaction.confirmed");
        assert.throws(() => verifyWebhook(endpoint.secret, after), "the old secret has expired");
      } finally {
        offsetMs -= 24 * 3_600_000 + 60_000;
      }

      // keepPreviousSeconds 0: the secret being replaced stops at once (and the one kept before it too).
      const again = await api.request("POST", `/webhooks/${endpoint.id}/rotate-secret`, {
        token: a.adminToken,
        body: { keepPreviousSeconds: 0 },
      });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.previousSecretExpiresAt, null);
      const now = await deliver("0x03");
      assert.equal(String(now.headers["webhook-signature"]).split(" ").length, 1);
      assert.equal(verifyWebhook(again.body.secret, now).type, "transaction.confirmed");
      assert.throws(() => verifyWebhook(rotated.body.secret, now));
      assert.throws(() => verifyWebhook(endpoint.secret, now));

      for (const keepPreviousSeconds of [-1, 1.5, 8 * 24 * 3600, "60"]) {
        const refused = await api.request("POST", `/webhooks/${endpoint.id}/rotate-secret`, {
          token: a.adminToken,
          body: { keepPreviousSeconds },
        });
        assert.equal(refused.status, 400, String(keepPreviousSeconds));
        assert.equal(refused.body.errors[0].path, "body.keepPreviousSeconds");
      }
      const unknown = await api.request("POST", `/webhooks/${UNKNOWN}/rotate-secret`, { token: a.adminToken });
      assert.equal(unknown.status, 404);
    });

    it("updates, deactivates (no new deliveries, no redelivery) and deletes endpoints", async () => {
      const endpoint = await register(a, "changing", ["campaign.budget_exhausted"]);
      const moved = newPath("moved");
      const updated = await api.request("PATCH", `/webhooks/${endpoint.id}`, {
        token: a.adminToken,
        body: {
          url: receiver.url(moved),
          description: "Budget alerts",
          eventTypes: ["campaign.budget_exhausted", "claim.failed"],
        },
      });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.url, receiver.url(moved));
      assert.equal(updated.body.description, "Budget alerts");
      assert.deepEqual(updated.body.eventTypes, ["campaign.budget_exhausted", "claim.failed"]);
      await emit(a.id, "campaign.budget_exhausted", { campaignId: "k-1" });
      await dispatcher.runOnce();
      assert.equal(receiver.on(moved).length, 1);
      assert.equal(receiver.on(endpoint.path).length, 0);
      const [delivery] = await deliveriesOf(a, endpoint.id);

      const off = await api.request("PATCH", `/webhooks/${endpoint.id}`, {
        token: a.adminToken,
        body: { active: false },
      });
      assert.equal(off.status, 200);
      assert.equal(off.body.active, false);
      assert.equal(off.body.description, "Budget alerts");
      await emit(a.id, "campaign.budget_exhausted", { campaignId: "k-2" });
      await dispatcher.runOnce();
      assert.equal(receiver.on(moved).length, 1, "an inactive endpoint gets nothing new");
      assert.equal((await deliveriesOf(a, endpoint.id)).length, 1);
      const redeliver = await api.request("POST", `/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`, {
        token: a.adminToken,
      });
      assert.equal(redeliver.status, 409);
      assert.ok(isProblem(redeliver));
      const inactive = await api.request("GET", "/webhooks?active=false&limit=100", { token: a.adminToken });
      assert.ok(inactive.body.data.some((row: { id: string }) => row.id === endpoint.id));
      assert.ok(inactive.body.data.every((row: { active: boolean }) => row.active === false));
      const active = await api.request("GET", "/webhooks?active=true&limit=100", { token: a.adminToken });
      assert.ok(active.body.data.length > 0);
      assert.ok(!active.body.data.some((row: { id: string }) => row.id === endpoint.id));

      const removed = await api.request("DELETE", `/webhooks/${endpoint.id}`, { token: a.adminToken });
      assert.equal(removed.status, 204);
      assert.equal((await api.request("GET", `/webhooks/${endpoint.id}`, { token: a.adminToken })).status, 404);
      const again = await api.request("DELETE", `/webhooks/${endpoint.id}`, { token: a.adminToken });
      assert.equal(again.status, 404);
    });

    it("shares deliveries between dispatchers without sending any twice; the loop runs by itself", async () => {
      const endpoint = await register(a, "shared", ["redemption.failed"]);
      // On the same clock: a lease means the same to both.
      const second = startWebhookDispatcher({ services: api.services, pollIntervalMs: 20, now: clock });
      try {
        const ids = [];
        for (let index = 0; index < 12; index += 1) ids.push(await emit(a.id, "redemption.failed", { index }));
        await Promise.all([dispatcher.runOnce(), dispatcher.runOnce()]);
        await until(() => receiver.on(endpoint.path).length >= 12, 10_000, "twelve deliveries");
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        await second.stop();
      }
      const sent = receiver.on(endpoint.path).map((webhook) => webhook.headers["webhook-id"]);
      assert.equal(sent.length, 12);
      assert.equal(new Set(sent).size, 12);
    });

    it("refuses bad bodies naming the field, and http URLs unless allowed", async () => {
      const post = (body: unknown) => api.request("POST", "/webhooks", { token: a.adminToken, body });
      assertInvalid(await post({ url: "not a url", eventTypes: ["claim.confirmed"] }), ["body.url"]);
      assertInvalid(await post({ url: "https://example.test/hook", eventTypes: [] }), ["body.eventTypes"]);
      assertInvalid(await post({ url: "https://example.test/hook", eventTypes: ["claim.paid"] }), [
        "body.eventTypes.0",
      ]);
      assertInvalid(await post({ url: "https://example.test/hook", eventTypes: ["claim.failed", "claim.failed"] }), [
        "body.eventTypes",
      ]);
      assertInvalid(await post({ url: "ftp://example.test/hook", eventTypes: ["claim.failed"] }), ["body.url"]);
      assertInvalid(await post({ url: "https://example.test/hook", eventTypes: ["claim.failed"], secret: "mine" }), [
        "body",
      ]);
      assertInvalid(await post({}), ["body.url", "body.eventTypes"]);
      const created = await register(a, "patchable", ["claim.failed"]);
      const patch = await api.request("PATCH", `/webhooks/${created.id}`, {
        token: a.adminToken,
        body: { active: "yes", eventTypes: ["nope"] },
      });
      assertInvalid(patch, ["body.active", "body.eventTypes.0"]);
      assertInvalid(await api.request("GET", "/webhooks/not-a-uuid", { token: a.adminToken }), ["params.id"]);
      assertInvalid(
        await api.request("GET", `/webhooks/${created.id}/deliveries?status=LOST`, { token: a.adminToken }),
        ["query.status"],
      );

      api.config.WEBHOOKS_ALLOW_HTTP = false;
      try {
        assertInvalid(await post({ url: "http://example.test/hook", eventTypes: ["claim.failed"] }), ["body.url"]);
        assertInvalid(
          await api.request("PATCH", `/webhooks/${created.id}`, {
            token: a.adminToken,
            body: { url: "http://example.test/hook" },
          }),
          ["body.url"],
        );
        const https = await post({ url: "https://example.test/hook", eventTypes: ["claim.failed"] });
        assert.equal(https.status, 201);
      } finally {
        api.config.WEBHOOKS_ALLOW_HTTP = true;
      }
    });

    it("refuses URLs into private networks, with credentials or not https, at registration and update", async () => {
      const endpoint = await register(a, "guarded-url", ["claim.failed"]);
      api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;
      api.config.WEBHOOKS_ALLOW_HTTP = false;
      try {
        for (const { url, message } of UNSAFE_URLS) {
          const created = await api.request("POST", "/webhooks", {
            token: a.adminToken,
            body: { url, eventTypes: ["claim.failed"] },
          });
          const updated = await api.request("PATCH", `/webhooks/${endpoint.id}`, {
            token: a.adminToken,
            body: { url },
          });
          for (const response of [created, updated]) {
            assert.equal(response.status, 400, `${url}: ${response.text}`);
            assert.ok(isProblem(response), url);
            assert.equal(response.body.type, "/problems/validation-failed", url);
            assert.equal(response.body.errors.length, 1, url);
            assert.equal(response.body.errors[0].path, "body.url", url);
            assert.match(response.body.errors[0].message, message, url);
          }
        }
        for (const url of SAFE_URLS) {
          const created = await api.request("POST", "/webhooks", {
            token: a.adminToken,
            body: { url, eventTypes: ["claim.failed"] },
          });
          assert.equal(created.status, 201, `${url}: ${created.text}`);
        }
      } finally {
        api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = true;
        api.config.WEBHOOKS_ALLOW_HTTP = true;
      }
      const read = await api.request("GET", `/webhooks/${endpoint.id}`, { token: a.adminToken });
      assert.equal(read.body.url, endpoint.url, "no refused URL was saved");
    });

    it("refuses at delivery an endpoint whose address is not public, failing it at once with the reason", async () => {
      // Registered while private networks were allowed: by a name that resolves to 127.0.0.1
      // (localhost, from /etc/hosts), and by the IP literal.
      const byName = await register(a, "refused-name", ["redemption.completed"]);
      const renamed = await api.request("PATCH", `/webhooks/${byName.id}`, {
        token: a.adminToken,
        body: { url: byName.url.replace("//127.0.0.1:", "//localhost:") },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.match(renamed.body.url, /^http:\/\/localhost:\d+\//);
      const byLiteral = await register(a, "refused-literal", ["redemption.completed"]);
      api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;
      try {
        await emit(a.id, "redemption.completed", { redemptionId: "r-1" });
        await dispatcher.runOnce();
        for (const [endpoint, reason] of [
          [byName, /^refused: localhost resolves to (127\.0\.0\.1|::1), a non-public address \(loopback\)/],
          [byLiteral, /^refused: 127\.0\.0\.1, a non-public address \(loopback\)/],
        ] as const) {
          const [delivery, ...others] = await deliveriesOf(a, endpoint.id);
          assert.equal(others.length, 0);
          assert.equal(delivery.status, "FAILED", "a refusal is not retried");
          assert.equal(delivery.attempts, 1);
          assert.equal(delivery.nextAttemptAt, null);
          assert.equal(delivery.lastStatusCode, null);
          assert.match(delivery.lastError, reason);
          const detail = await deliveryOf(a, endpoint.id, delivery.id);
          assert.equal(detail.attemptLog.length, 1);
          assert.match(detail.attemptLog[0].error, reason);
        }
        offsetMs += 3_600_000;
        await dispatcher.runOnce();
        assert.equal(receiver.on(byName.path).length, 0, "nothing reached the receiver by name");
        assert.equal(receiver.on(byLiteral.path).length, 0, "nothing reached the receiver by address");
        assert.equal((await deliveriesOf(a, byName.id))[0].attempts, 1);
      } finally {
        api.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS = true;
      }
      // Allowed again (local development), a redelivery by hand reaches the same receiver by name.
      const [refused] = await deliveriesOf(a, byName.id);
      const redelivered = await api.request("POST", `/webhooks/${byName.id}/deliveries/${refused.id}/redeliver`, {
        token: a.adminToken,
      });
      assert.equal(redelivered.status, 202, redelivered.text);
      await dispatcher.runOnce();
      assert.equal(receiver.on(byName.path).length, 1, "the receiver was reachable all along");
      assert.equal((await deliveryOf(a, byName.id, refused.id)).status, "SUCCEEDED");
    });

    it("answers 401 without a credential and 403 to levels other than ADMIN", async () => {
      const endpoint = await register(a, "guarded", ["claim.failed"]);
      const routes: [string, string, unknown?][] = [
        ["POST", "/webhooks", { url: "https://example.test/x", eventTypes: ["claim.failed"] }],
        ["GET", "/webhooks"],
        ["GET", `/webhooks/${endpoint.id}`],
        ["PATCH", `/webhooks/${endpoint.id}`, { active: false }],
        ["POST", `/webhooks/${endpoint.id}/rotate-secret`],
        ["DELETE", `/webhooks/${endpoint.id}`],
        ["GET", `/webhooks/${endpoint.id}/deliveries`],
        ["GET", `/webhooks/${endpoint.id}/deliveries/${UNKNOWN}`],
        ["POST", `/webhooks/${endpoint.id}/deliveries/${UNKNOWN}/redeliver`],
      ];
      for (const [method, path, body] of routes) {
        const anonymous = await api.request(method, path, { body });
        assert.equal(anonymous.status, 401, `${method} ${path}`);
        assert.ok(isProblem(anonymous));
        for (const level of ["PUBLIC", "USER", "BUSINESS", "SYSTEM"] as const) {
          const refused = await api.request(method, path, { ...aCallers.callers[level], body });
          assert.equal(refused.status, 403, `${level} ${method} ${path}: ${refused.text}`);
          assert.ok(!refused.text.includes(endpoint.url));
        }
      }
      assert.equal((await api.request("GET", `/webhooks/${endpoint.id}`, { token: a.adminToken })).status, 200);
    });

    it("keeps tenants apart: A never reads, changes or redelivers B's endpoints and deliveries", async () => {
      const mine = await register(a, "mine", ["claim.confirmed"]);
      const hidden = [bEndpoint.url, bEndpoint.secret, "B-secret-description", "B-private-purchase", bEndpoint.id];
      const routes: [string, string, unknown?][] = [
        ["GET", `/webhooks/${bEndpoint.id}`],
        ["PATCH", `/webhooks/${bEndpoint.id}`, { description: "taken over" }],
        ["POST", `/webhooks/${bEndpoint.id}/rotate-secret`],
        ["GET", `/webhooks/${bEndpoint.id}/deliveries`],
        ["GET", `/webhooks/${bEndpoint.id}/deliveries/${bDeliveryId}`],
        ["POST", `/webhooks/${bEndpoint.id}/deliveries/${bDeliveryId}/redeliver`],
        // B's delivery under A's own endpoint.
        ["GET", `/webhooks/${mine.id}/deliveries/${bDeliveryId}`],
        ["POST", `/webhooks/${mine.id}/deliveries/${bDeliveryId}/redeliver`],
        ["DELETE", `/webhooks/${bEndpoint.id}`],
      ];
      for (const [method, path, body] of routes) {
        for (const level of ["USER", "BUSINESS", "ADMIN", "SYSTEM"] as const) {
          const response = await api.request(method, path, { ...aCallers.callers[level], body });
          assertRefused(response, hidden.slice(0, 4), `${level} ${method} ${path}`);
          if (level === "ADMIN") assert.equal(response.status, 404, `${method} ${path}`);
        }
      }
      const list = await api.request("GET", "/webhooks?limit=100", { token: a.adminToken });
      assert.equal(list.status, 200);
      for (const value of hidden) assert.ok(!list.text.includes(value), `A's list shows ${value}`);
      const filtered = await api.request("GET", `/webhooks/${mine.id}/deliveries?eventId=${UNKNOWN}`, {
        token: a.adminToken,
      });
      assert.equal(filtered.body.data.length, 0);

      // B's endpoint and delivery are untouched, and B still reads them.
      const bRead = await api.request("GET", `/webhooks/${bEndpoint.id}`, { token: b.adminToken });
      assert.equal(bRead.status, 200);
      assert.equal(bRead.body.description, "B-secret-description");
      const bDelivery = await deliveryOf(b, bEndpoint.id, bDeliveryId);
      assert.equal(bDelivery.status, "SUCCEEDED");
      assert.equal(bDelivery.attempts, 1);
      assert.equal((bDelivery.payload as any).data.purchaseId, "B-private-purchase");
      const bWebhook = receiver.on(bEndpoint.path)[0]!;
      assert.equal(verifyWebhook(bEndpoint.secret, bWebhook).data.purchaseId, "B-private-purchase");
      // B's callers are refused A's endpoint alike.
      assertRefused(
        await api.request("GET", `/webhooks/${mine.id}`, { ...bCallers.callers.ADMIN }),
        [mine.url, mine.secret],
        "B reads A",
      );
    });
  });
}
