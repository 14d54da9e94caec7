import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CONFIG_VARIABLES, ConfigError, readConfig } from "./config.ts";

describe("configuration", () => {
  it("is documented in the README's table, every variable the code reads and no other", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
    const documented = [...readme.matchAll(/^\| `([A-Z0-9_]+)` +\|/gm)].map((match) => match[1]);
    assert.deepEqual([...documented].sort(), [...CONFIG_VARIABLES].sort());
  });

  it("stops at a wrong value with a message naming the variable, and counts an empty one as unset", () => {
    const masterKey = "ab".repeat(32);
    assert.throws(
      () => readConfig({ MASTER_KEY: masterKey, API_PORT: "70000", RATE_LIMIT_PER_IP: "many" }),
      (error: unknown) =>
        error instanceof ConfigError && /API_PORT/.test(error.message) && /RATE_LIMIT_PER_IP/.test(error.message),
    );
    assert.throws(() => readConfig({}), /MASTER_KEY/);
    const config = readConfig({ MASTER_KEY: masterKey, DATABASE_URL: "", API_PORT: "" });
    assert.equal(config.DATABASE_URL, undefined);
    assert.equal(config.API_PORT, 3000);
  });
});
