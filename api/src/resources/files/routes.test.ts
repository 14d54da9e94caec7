import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { callersOf, everyLevel, type Caller, type Callers } from "../../../test/levelCallers.ts";
import {
  createTestTenant,
  insertUser,
  isProblem,
  PLATFORM_KEY,
  startTestApiOn,
  startTestChain,
  testDatabases,
  type RequestOptions,
  type TestApi,
  type TestChain,
  type TestTenant,
} from "../../../test/harness.ts";

const MAX_BYTES = 4096;
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);
const PDF = Buffer.from("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n");

type Part = { field?: string; bytes?: Buffer; type?: string; filename?: string };

/** A multipart body as a browser would send it, as raw bytes and its content type. */
async function multipart(parts: Part[], fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const part of parts) {
    form.append(
      part.field ?? "file",
      new Blob([part.bytes ?? PNG], { type: part.type ?? "image/png" }),
      part.filename ?? "picture.png",
    );
  }
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const encoded = new Response(form);
  return {
    rawBody: Buffer.from(await encoded.arrayBuffer()),
    headers: { "content-type": encoded.headers.get("content-type")! },
  };
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let chain: TestChain;
before(async () => (chain = await startTestChain()));
after(async () => chain.close());

for (const database of testDatabases()) {
  describe(`/files on ${database.name}`, () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;
    let callers: Callers;
    let bCallers: Callers;
    let otherUser: Caller;
    const uploaded: Record<string, any> = {};

    const upload = async (caller: RequestOptions, parts: Part[], fields: Record<string, string> = {}) =>
      api.request("POST", "/files", { ...caller, ...(await multipart(parts, fields)) });
    const bytesOnDisk = (tenantId: string, id: string) => join(api.config.API_DATA_DIR, "files", tenantId, id);

    before(async () => {
      api = await startTestApiOn(database, {
        chain,
        environment: { FILE_MAX_BYTES: String(MAX_BYTES) },
      });
      a = await createTestTenant(api);
      b = await createTestTenant(api);
      callers = await callersOf(api, a);
      bCallers = await callersOf(api, b);
      const other = await insertUser(api, a.id);
      otherUser = { level: "USER", credential: { token: other.token }, actor: `user:${other.user.id}` };
      const made = {
        userPublic: await upload(callers.USER.credential, [{ filename: "../../etc/passwd.png" }], {
          visibility: "PUBLIC",
        }),
        businessPdf: await upload(callers.BUSINESS.credential, [
          { bytes: PDF, type: "application/pdf", filename: "invoice 7.pdf" },
        ]),
        adminPrivate: await upload(callers.ADMIN.credential, [{ filename: "logo.png" }], { visibility: "PRIVATE" }),
        systemPublic: await upload(callers.SYSTEM.credential, [{ filename: "banner.png" }], { visibility: "PUBLIC" }),
        bPrivate: await upload(bCallers.USER.credential, [
          { bytes: PDF, type: "application/pdf", filename: "bravo-secret.pdf" },
        ]),
        bPublic: await upload(bCallers.ADMIN.credential, [{ filename: "bravo-public.png" }], { visibility: "PUBLIC" }),
      };
      for (const [name, answer] of Object.entries(made)) {
        assert.equal(answer.status, 201, `${name}: ${answer.text}`);
        uploaded[name] = answer.body;
      }
    });
    after(() => api.close());

    it("stores an upload by id under the tenant's folder, with its sniffed type, size, hash and uploader", async () => {
      const file = uploaded.userPublic;
      assert.equal(file.filename, "passwd.png", "the client's path is dropped");
      assert.equal(file.contentType, "image/png");
      assert.equal(file.size, PNG.length);
      assert.equal(file.sha256, sha256(PNG));
      assert.equal(file.visibility, "PUBLIC");
      assert.equal(file.uploadedBy, callers.USER.actor);
      assert.equal(file.contentUrl, `/files/${file.id}/content`);
      assert.deepEqual(readFileSync(bytesOnDisk(a.id, file.id)), PNG);
      assert.deepEqual(readdirSync(join(api.config.API_DATA_DIR, "files")).sort(), [a.id, b.id].sort());
      assert.ok(
        readdirSync(join(api.config.API_DATA_DIR, "files", a.id)).every((name) => /^[0-9a-f-]{36}$/.test(name)),
      );

      assert.equal(uploaded.businessPdf.visibility, "PRIVATE", "PRIVATE unless asked");
      assert.equal(uploaded.businessPdf.uploadedBy, callers.BUSINESS.actor);
      assert.equal(uploaded.businessPdf.contentType, "application/pdf");
      assert.equal(uploaded.adminPrivate.uploadedBy, callers.ADMIN.actor);
      assert.equal(uploaded.systemPublic.uploadedBy, callers.SYSTEM.actor);
    });

    it("serves the bytes with their type, nosniff, and images inline but other files as attachments", async () => {
      const image = await api.request("GET", `/files/${uploaded.userPublic.id}/content`, callers.USER.credential);
      assert.equal(image.status, 200);
      assert.equal(image.headers.get("content-type"), "image/png");
      assert.equal(image.headers.get("x-content-type-options"), "nosniff");
      assert.equal(image.headers.get("content-disposition"), null);
      const raw = await fetch(`${api.url}/files/${uploaded.userPublic.id}/content`, {
        headers: { "x-project-key": a.projectKey },
      });
      assert.deepEqual(Buffer.from(await raw.arrayBuffer()), PNG);

      const pdf = await api.request("GET", `/files/${uploaded.businessPdf.id}/content`, callers.BUSINESS.credential);
      assert.equal(pdf.status, 200);
      assert.equal(pdf.headers.get("content-type"), "application/pdf");
      assert.equal(pdf.headers.get("x-content-type-options"), "nosniff");
      assert.equal(pdf.headers.get("content-disposition"), 'attachment; filename="invoice 7.pdf"');
      assert.equal(pdf.text, PDF.toString());
      assert.equal(pdf.headers.get("cache-control"), "private, no-store");
    });

    it("shows PUBLIC files to the project key, PRIVATE ones only to their uploader and ADMIN or SYSTEM", async () => {
      const pdf = uploaded.businessPdf.id;
      for (const path of [`/files/${pdf}`, `/files/${pdf}/content`]) {
        for (const credential of [{ projectKey: a.projectKey }, callers.USER.credential, otherUser.credential]) {
          const answer = await api.request("GET", path, credential);
          assert.equal(answer.status, 404, `${path} ${JSON.stringify(credential).slice(0, 14)}`);
          assert.ok(isProblem(answer));
          assert.ok(!answer.text.includes("invoice"));
        }
        for (const caller of [callers.BUSINESS, callers.ADMIN, callers.SYSTEM]) {
          assert.equal((await api.request("GET", path, caller.credential)).status, 200, `${caller.level} ${path}`);
        }
      }
      const open = await api.request("GET", `/files/${uploaded.userPublic.id}`, { projectKey: a.projectKey });
      assert.equal(open.status, 200);
      assert.equal(open.body.sha256, sha256(PNG));
      assert.equal(open.body.uploadedBy, null, "the uploader is not shown to everyone");
      const byOther = await api.request("GET", `/files/${uploaded.userPublic.id}`, otherUser.credential);
      assert.equal(byOther.status, 200);
      assert.equal(byOther.body.uploadedBy, null);
      assert.equal((await api.request("GET", `/files/${uploaded.userPublic.id}`)).status, 401);
      assert.equal(
        (await api.request("GET", "/files/not-a-uuid", callers.ADMIN.credential)).body.errors[0].path,
        "params.id",
      );
      const unknown = await api.request("GET", `/files/${crypto.randomUUID()}`, callers.ADMIN.credential);
      assert.equal(unknown.status, 404);
    });

    it("lists all files to ADMIN and SYSTEM, their own to USER and BUSINESS, the public ones to the project key", async () => {
      const ids = (answer: { body: { data: { id: string }[] } }) => answer.body.data.map((file) => file.id).sort();
      const ofA = ["userPublic", "businessPdf", "adminPrivate", "systemPublic"].map((name) => uploaded[name].id).sort();
      for (const caller of [callers.ADMIN, callers.SYSTEM]) {
        const answer = await api.request("GET", "/files?limit=100", caller.credential);
        assert.equal(answer.status, 200);
        assert.deepEqual(ids(answer), ofA, caller.level);
        assert.equal(answer.body.pagination.total, 4);
      }
      assert.deepEqual(ids(await api.request("GET", "/files", callers.USER.credential)), [uploaded.userPublic.id]);
      assert.deepEqual(ids(await api.request("GET", "/files", callers.BUSINESS.credential)), [uploaded.businessPdf.id]);
      assert.deepEqual(ids(await api.request("GET", "/files", otherUser.credential)), []);
      assert.deepEqual(
        ids(await api.request("GET", "/files", { projectKey: a.projectKey })),
        [uploaded.userPublic.id, uploaded.systemPublic.id].sort(),
      );
      const filtered = await api.request(
        "GET",
        "/files?visibility=PRIVATE&sort=size&order=asc",
        callers.ADMIN.credential,
      );
      assert.deepEqual(ids(filtered), [uploaded.businessPdf.id, uploaded.adminPrivate.id].sort());
      assert.deepEqual(ids(await api.request("GET", "/files?contentType=application/pdf", callers.ADMIN.credential)), [
        uploaded.businessPdf.id,
      ]);
      const page = await api.request("GET", "/files?limit=1&page=2&sort=filename&order=asc", callers.ADMIN.credential);
      assert.equal(page.body.data.length, 1);
      assert.equal(page.body.data[0].filename, "invoice 7.pdf", "banner, invoice, logo, passwd");
      const bad = await api.request("GET", "/files?visibility=SECRET&color=red", callers.ADMIN.credential);
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body.errors.map((error: { path: string }) => error.path).sort(), [
        "query",
        "query.visibility",
      ]);
      assert.equal((await api.request("GET", "/files")).status, 401);
      assert.equal((await api.request("GET", "/files", { apiKey: PLATFORM_KEY })).status, 403);
    });

    it("refuses what is not one allowed file of the type it claims: 415, and never stores it", async () => {
      const before = readdirSync(join(api.config.API_DATA_DIR, "files", a.id)).length;
      const cases: [string, Awaited<ReturnType<typeof upload>>][] = [
        [
          "text",
          await upload(callers.USER.credential, [
            { bytes: Buffer.from("just words"), type: "text/plain", filename: "a.txt" },
          ]),
        ],
        [
          "html as png",
          await upload(callers.USER.credential, [{ bytes: Buffer.from("<html><script>alert(1)</script></html>") }]),
        ],
        ["png as jpeg", await upload(callers.USER.credential, [{ type: "image/jpeg", filename: "a.jpg" }])],
        ["png as octet-stream", await upload(callers.USER.credential, [{ type: "application/octet-stream" }])],
        ["empty", await upload(callers.USER.credential, [{ bytes: Buffer.alloc(0) }])],
        ["json body", await api.request("POST", "/files", { ...callers.USER.credential, body: { file: "aGVsbG8=" } })],
        ["no body", await api.request("POST", "/files", callers.USER.credential)],
      ];
      for (const [name, answer] of cases) {
        assert.equal(answer.status, 415, `${name}: ${answer.text}`);
        assert.ok(isProblem(answer), name);
        assert.equal(answer.body.type, "/problems/unsupported-media-type");
      }
      assert.match(cases[2]![1].body.detail, /claims to be image\/jpeg but its bytes are image\/png/);
      assert.equal(readdirSync(join(api.config.API_DATA_DIR, "files", a.id)).length, before);
    });

    it("refuses a file over FILE_MAX_BYTES (413) and malformed forms (400, naming the field)", async () => {
      const big = Buffer.concat([PNG, Buffer.alloc(MAX_BYTES)]);
      const tooLarge = await upload(callers.ADMIN.credential, [{ bytes: big }]);
      assert.equal(tooLarge.status, 413, tooLarge.text);
      assert.ok(isProblem(tooLarge));
      const justUnder = await upload(callers.ADMIN.credential, [
        { bytes: Buffer.concat([PNG, Buffer.alloc(MAX_BYTES - PNG.length)]) },
      ]);
      assert.equal(justUnder.status, 201, "exactly FILE_MAX_BYTES is allowed");
      assert.equal(justUnder.body.size, MAX_BYTES);

      const expectField = async (answer: Awaited<ReturnType<typeof upload>>, path: string) => {
        assert.equal(answer.status, 400, `${path}: ${answer.text}`);
        assert.ok(isProblem(answer));
        assert.ok(
          answer.body.errors.some((error: { path: string }) => error.path === path),
          `${path} not in ${JSON.stringify(answer.body.errors)}`,
        );
      };
      await expectField(await upload(callers.USER.credential, [{ field: "upload" }]), "body.upload");
      await expectField(await upload(callers.USER.credential, [], { visibility: "PUBLIC" }), "body.file");
      await expectField(await upload(callers.USER.credential, [{}], { visibility: "SECRET" }), "body.visibility");
      await expectField(await upload(callers.USER.credential, [{}, {}]), "body.file");
      const extra = await upload(callers.USER.credential, [{}], { owner: "someone-else" });
      assert.equal(extra.status, 400);
      assert.match(JSON.stringify(extra.body.errors), /owner/);
      const garbage = await api.request("POST", "/files", {
        ...callers.USER.credential,
        rawBody: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc',
        headers: { "content-type": "multipart/form-data; boundary=xyz" },
      });
      assert.equal(garbage.status, 400, garbage.text);
      assert.ok(isProblem(garbage));
    });

    it("admits every tenant level to upload; the project key, the platform and nobody are refused before the body is read", async () => {
      assert.equal((await upload({}, [{}])).status, 401);
      for (const credential of [{ projectKey: a.projectKey }, { apiKey: PLATFORM_KEY }]) {
        const answer = await upload(credential, [{}]);
        assert.equal(answer.status, 403);
        assert.ok(isProblem(answer));
      }
    });

    it("deletes the record and the bytes: the uploader or ADMIN and SYSTEM; others get 403 or 404", async () => {
      const mine = (await upload(otherUser.credential, [{ filename: "mine.png" }], { visibility: "PUBLIC" })).body;
      const path = bytesOnDisk(a.id, mine.id);
      assert.ok(existsSync(path));
      const byUser = await api.request("DELETE", `/files/${mine.id}`, callers.USER.credential);
      assert.equal(byUser.status, 403, "a public file of someone else: visible, not theirs");
      const privateOfOther = await api.request("DELETE", `/files/${uploaded.businessPdf.id}`, callers.USER.credential);
      assert.equal(privateOfOther.status, 404);
      assert.equal((await api.request("DELETE", `/files/${mine.id}`, { projectKey: a.projectKey })).status, 403);
      assert.equal((await api.request("DELETE", `/files/${mine.id}`)).status, 401);
      assert.equal((await api.request("DELETE", "/files/42", otherUser.credential)).status, 400);

      const deleted = await api.request("DELETE", `/files/${mine.id}`, otherUser.credential);
      assert.equal(deleted.status, 204);
      assert.ok(!existsSync(path), "the bytes are gone");
      assert.equal((await api.request("GET", `/files/${mine.id}`, callers.ADMIN.credential)).status, 404);
      assert.equal((await api.request("DELETE", `/files/${mine.id}`, otherUser.credential)).status, 404);

      const bySystem = await api.request("DELETE", `/files/${uploaded.adminPrivate.id}`, callers.SYSTEM.credential);
      assert.equal(bySystem.status, 204);
      assert.ok(!existsSync(bytesOnDisk(a.id, uploaded.adminPrivate.id)));
    });

    it("isolation: no caller of tenant A reads, lists or deletes tenant B's files", async () => {
      const bFiles = [uploaded.bPrivate, uploaded.bPublic];
      for (const credential of [
        { projectKey: a.projectKey },
        ...everyLevel(callers).map((caller) => caller.credential),
      ]) {
        for (const file of bFiles) {
          for (const [method, path] of [
            ["GET", `/files/${file.id}`],
            ["GET", `/files/${file.id}/content`],
            ["DELETE", `/files/${file.id}`],
          ] as const) {
            const answer = await api.request(method, path, credential);
            assert.ok([403, 404].includes(answer.status), `${method} ${path}: ${answer.status}`);
            if ("projectKey" in credential || method === "GET")
              assert.equal(answer.status, method === "GET" ? 404 : 403);
            assert.ok(!answer.text.includes("bravo"), `${method} ${path} leaked B's data`);
            assert.ok(!answer.text.includes(file.sha256));
          }
        }
        const list = await api.request("GET", "/files?limit=100", credential);
        assert.equal(list.status, 200);
        assert.ok(!list.text.includes("bravo"));
      }
      for (const file of bFiles) {
        assert.ok(existsSync(bytesOnDisk(b.id, file.id)), "B's bytes are untouched");
        const own = await api.request("GET", `/files/${file.id}`, bCallers.ADMIN.credential);
        assert.equal(own.status, 200);
        assert.equal(own.body.sha256, file.sha256);
      }
    });
  });
}

for (const database of testDatabases()) {
  describe(`/files quotas on ${database.name}`, () => {
    let api: TestApi;
    const upload = async (caller: RequestOptions) =>
      api.request("POST", "/files", { ...caller, ...(await multipart([{}])) });

    before(async () => {
      // Room for two pictures an uploader, five a tenant.
      api = await startTestApiOn(database, {
        chain,
        environment: { FILE_QUOTA_BYTES: String(PNG.length * 2), FILE_TENANT_QUOTA_BYTES: String(PNG.length * 5) },
      });
    });
    after(() => api.close());

    it("refuses an upload past its uploader's or its tenant's quota (409), and takes it once room is made", async () => {
      const [a, b] = [await createTestTenant(api), await createTestTenant(api)];
      const [first, second, third] = [
        await insertUser(api, a.id),
        await insertUser(api, a.id),
        await insertUser(api, a.id),
      ];
      const kept = await upload({ token: first.token });
      assert.equal(kept.status, 201, kept.text);
      assert.equal((await upload({ token: first.token })).status, 201);
      const full = await upload({ token: first.token });
      assert.equal(full.status, 409, full.text);
      assert.ok(isProblem(full));
      assert.match(full.body.detail, /Your stored files .* quota of \d+ bytes/);
      const removed = await api.request("DELETE", `/files/${kept.body.id}`, { token: first.token });
      assert.equal(removed.status, 204);
      assert.equal((await upload({ token: first.token })).status, 201, "deleting a file makes room");

      assert.equal((await upload({ token: second.token })).status, 201);
      assert.equal((await upload({ token: second.token })).status, 201);
      assert.equal((await upload({ token: third.token })).status, 201);
      const tenantFull = await upload({ token: third.token });
      assert.equal(tenantFull.status, 409, tenantFull.text);
      assert.match(tenantFull.body.detail, /The tenant's stored files .* quota/);
      const adminToo = await upload({ token: a.adminToken });
      assert.equal(adminToo.status, 409, "the tenant's quota holds for its admins too");
      // Another tenant's files are its own.
      const [other] = [await insertUser(api, b.id)];
      assert.equal((await upload({ token: other.token })).status, 201);
    });
  });
}
