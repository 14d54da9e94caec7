// Every event of every contract the indexer follows has a handler: the handler files are loaded with
// Ponder's virtual modules stood in for, and what they register is compared with the generated ABIs.
import assert from "node:assert/strict";
import { registerHooks } from "node:module";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { indexedAbis } from "../indexer/contracts.ts";

const indexerDir = join(import.meta.dirname, "..", "indexer");
const registered: string[] = [];
(globalThis as { ponderRegistrations?: string[] }).ponderRegistrations = registered;

// "ponder:registry" becomes a `ponder` that records names; "ponder:schema" is the schema file itself.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "ponder:registry") {
      const source = "export const ponder = { on: (name) => globalThis.ponderRegistrations.push(name) };";
      return { url: `data:text/javascript,${encodeURIComponent(source)}`, shortCircuit: true };
    }
    if (specifier === "ponder:schema") {
      return { url: pathToFileURL(join(indexerDir, "ponder.schema.ts")).href, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});

describe("the indexer's handlers", () => {
  it("register one handler for each event of each indexed contract, and none for an event that does not exist", async () => {
    for (const file of readdirSync(join(indexerDir, "src")).filter((name) => name.endsWith(".ts"))) {
      await import(pathToFileURL(join(indexerDir, "src", file)).href);
    }
    const expected = Object.entries(indexedAbis).flatMap(([contract, abi]) =>
      abi.filter((item) => item.type === "event").map((event) => `${contract}:${event.name}`),
    );
    assert.ok(expected.length > 60, `only ${expected.length} events found in the ABIs`);
    const missing = expected.filter((name) => !registered.includes(name));
    const unknown = registered.filter((name) => !expected.includes(name));
    const twice = registered.filter((name, i) => registered.indexOf(name) !== i);
    assert.deepEqual({ missing, unknown, twice }, { missing: [], unknown: [], twice: [] });
  });
});
