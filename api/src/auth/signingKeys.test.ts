import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { openTestDatabase, testDatabases } from "../../test/harness.ts";
import type { Database, OpenDatabaseReturnType } from "../db/client.ts";
import { ACCESS_TOKEN_TYPE, createKeyStore } from "./signingKeys.ts";

const ROTATION_SECONDS = 60;
const LIFETIME_SECONDS = 900;
const claims = { sub: `user:${randomUUID()}`, tenant: randomUUID(), level: "USER" };
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** A key store on its own clock, which the test moves; each test starts in its own year, apart. */
function clockedStore(db: Database, masterKey: Buffer, year: number) {
  const clock = { now: Date.UTC(year, 0, 1) };
  const keys = createKeyStore({
    db,
    masterKey,
    rotationSeconds: ROTATION_SECONDS,
    tokenLifetimeSeconds: LIFETIME_SECONDS,
    issuer: "pers-api",
    audience: "pers",
    now: () => clock.now,
  });
  return { keys, clock, advance: (seconds: number) => (clock.now += seconds * 1000) };
}

/** A database whose reads are counted: `select` is where every key (re)load starts. */
function countingReads(db: Database) {
  const counter = { reads: 0 };
  const counted = new Proxy(db, {
    get(target, property, receiver) {
      if (property === "select") counter.reads += 1;
      return Reflect.get(target, property, receiver);
    },
  });
  return { db: counted, counter };
}

for (const database of testDatabases()) {
  describe(`signing keys on ${database.name}`, () => {
    let opened: OpenDatabaseReturnType;
    const masterKey = randomBytes(32);

    before(async () => (opened = await openTestDatabase(database)));
    after(() => opened.close());

    it("keeps verifying a token signed before rotate(), and publishes both keys, the current first", async () => {
      const { keys, advance } = clockedStore(opened.db, masterKey, 2030);
      const before = await keys.sign(claims);
      advance(1);
      await keys.rotate();
      const afterRotation = await keys.sign(claims);
      assert.notEqual(kidOf(afterRotation), kidOf(before));

      const verified = await keys.verify(before);
      assert.equal(verified.payload.sub, claims.sub);
      assert.equal(verified.protectedHeader.kid, kidOf(before));
      const kids = (await keys.jwks()).keys.map((key) => key.kid);
      assert.equal(kids[0], kidOf(afterRotation), "the current key comes first");
      assert.ok(kids.includes(kidOf(before)));
      for (const key of (await keys.jwks()).keys) {
        assert.equal(key.alg, "ES256");
        assert.equal(key.d, undefined, "the JWKS must never carry a private key");
      }
    });

    it("rotates on schedule and drops a key once rotation period + token lifetime have passed", async () => {
      const { keys, advance } = clockedStore(opened.db, masterKey, 2031);
      await keys.rotate();
      const first = await keys.sign(claims);
      // A token that outlives its key's publication: it must stop verifying when the key drops out.
      const longLived = await keys.sign(claims, 3 * LIFETIME_SECONDS);
      advance(ROTATION_SECONDS + 1);
      const second = await keys.sign(claims);
      assert.notEqual(kidOf(second), kidOf(first), "a key older than the rotation period no longer signs");
      assert.deepEqual(
        (await keys.jwks()).keys.slice(0, 2).map((key) => key.kid),
        [kidOf(second), kidOf(first)],
      );
      assert.equal((await keys.verify(first)).payload.sub, claims.sub, "rotation must not break a live token");

      advance(LIFETIME_SECONDS);
      // first's key was made ROTATION + LIFETIME + 1 s ago: no token of it can be alive.
      const published = (await keys.jwks()).keys.map((key) => key.kid);
      assert.ok(!published.includes(kidOf(first)), "the old key must drop out of the JWKS");
      assert.ok(published.includes(kidOf(second)), "the previous key stays while its tokens may live");
      await assert.rejects(keys.verify(longLived), { code: "ERR_JWKS_NO_MATCHING_KEY" });
      await assert.rejects(keys.verify(first), { code: "ERR_JWKS_NO_MATCHING_KEY" });
    });

    it("finds a key another process made, but reloads for unknown kids at most once a second", async () => {
      const counted = countingReads(opened.db);
      const { keys, advance } = clockedStore(counted.db, masterKey, 2032);
      await keys.verify(await keys.sign(claims));
      // Another API process on the same database rotates: its token names a kid we have not seen.
      const other = clockedStore(opened.db, masterKey, 2032);
      await other.keys.rotate();
      const fromOther = await other.keys.sign(claims);
      assert.equal((await keys.verify(fromOther)).protectedHeader.kid, kidOf(fromOther));

      advance(2);
      const { privateKey } = await generateKeyPair("ES256");
      const forged = () =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: "ES256", kid: randomUUID(), typ: ACCESS_TOKEN_TYPE })
          .setIssuer("pers-api")
          .setAudience("pers")
          .setIssuedAt()
          .setNotBefore("0s")
          .setExpirationTime("5m")
          .sign(privateKey);
      const readsBefore = counted.counter.reads;
      await assert.rejects(keys.verify(await forged()), { code: "ERR_JWKS_NO_MATCHING_KEY" });
      const afterFirst = counted.counter.reads;
      assert.ok(afterFirst > readsBefore, "the first unknown kid reloads the keys");
      for (let attempt = 0; attempt < 20; attempt += 1) {
        await assert.rejects(keys.verify(await forged()), { code: "ERR_JWKS_NO_MATCHING_KEY" });
      }
      assert.equal(counted.counter.reads, afterFirst, "unknown kids within a second must not read the database");
      advance(1.5);
      await assert.rejects(keys.verify(await forged()), { code: "ERR_JWKS_NO_MATCHING_KEY" });
      assert.ok(counted.counter.reads > afterFirst, "a second later an unknown kid may reload again");
    });
  });
}
