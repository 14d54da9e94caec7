import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { open, seal } from "./secretBox.ts";

describe("secretBox", () => {
  const key = randomBytes(32);

  it("opens what it sealed, for the same row only", () => {
    const sealed = seal(key, "0xsecret", "user:a");
    assert.equal(open(key, sealed, "user:a"), "0xsecret");
    assert.throws(() => open(key, sealed, "user:b"));
    assert.throws(() => open(randomBytes(32), sealed, "user:a"));
  });

  it("refuses a tag cut short (GCM would otherwise check only the bytes given)", () => {
    const [version, iv, tag, ciphertext] = seal(key, "0xsecret", "user:a").split(".");
    for (const bytes of [4, 8, 12, 15]) {
      const short = Buffer.from(tag!, "base64url").subarray(0, bytes).toString("base64url");
      assert.throws(() => open(key, [version, iv, short, ciphertext].join("."), "user:a"), /not a sealed value/);
    }
  });
});
