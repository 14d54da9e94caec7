// `npm start`'s main job, run as a user runs it: a local chain, the protocol and the demo tenant.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createPublicClient, http, parseUnits, type Address } from "viem";
import { pointsTokenAbi } from "../abi/pointsToken.ts";
import { readDeployment } from "../deploy/deployment-file.ts";
import { freePort } from "./helpers/ports.ts";

describe("scripts/start.ts", () => {
  it("serves a chain with the protocol, a demo tenant whose customer holds 100 DEMO, and the indexer showing it; stops on SIGTERM", async () => {
    const port = await freePort();
    const indexerPort = await freePort();
    const apiPort = await freePort();
    const deployments = mkdtempSync(join(tmpdir(), "pers-start-"));
    // Hardhat's own CLI on this Node, so that SIGTERM reaches the script itself.
    const hardhat = join(import.meta.dirname, "..", "node_modules", "hardhat", "dist", "src", "cli.js");
    const child = spawn(process.execPath, [hardhat, "run", "--no-compile", "scripts/start.ts"], {
      env: {
        ...process.env,
        CHAIN_PORT: String(port),
        INDEXER_PORT: String(indexerPort),
        API_PORT: String(apiPort),
        START_DATA_DIR: join(deployments, "data"),
        // Not npm start's: it never empties another run's data, nor uses a database it cannot empty.
        API_DATA_DIR: join(deployments, "not-start"),
        DATABASE_URL: "postgres://postgres@127.0.0.1:1/not-start",
        PERS_DEPLOYMENTS_DIR: deployments,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`start did not get ready in 240 s:\n${output}`)), 240_000);
        child.stdout.on("data", () => output.includes("start: ready") && (clearTimeout(timer), resolve()));
        exited.then((code) => (clearTimeout(timer), reject(new Error(`start exited with ${code}:\n${output}`))));
      });

      const customer = /customer \(claimed once\)\s+(0x[0-9a-fA-F]{40})/.exec(output)?.[1] as Address | undefined;
      const pointsToken = /points token \(DEMO\)\s+(0x[0-9a-fA-F]{40})/.exec(output)?.[1] as Address | undefined;
      assert.ok(customer && pointsToken, `the demo table is missing addresses:\n${output}`);

      const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`) });
      assert.equal(await client.getChainId(), 31337);
      const balance = await client.readContract({
        address: pointsToken,
        abi: pointsTokenAbi,
        functionName: "balanceOf",
        args: [customer],
      });
      assert.equal(balance, parseUnits("100", 18));
      assert.ok(output.includes(readDeployment(31337, deployments).contracts.tenantFactory));

      assert.ok(output.includes(`GraphQL http://127.0.0.1:${indexerPort}/graphql`), output);
      const portfolio = (await (
        await fetch(`http://127.0.0.1:${indexerPort}/accounts/${customer}/portfolio`)
      ).json()) as { balances: { token: string; amount: string; symbol: string }[] };
      assert.deepEqual(
        portfolio.balances.map(({ token, amount, symbol }) => ({ token, amount, symbol })),
        [{ token: pointsToken.toLowerCase(), amount: String(parseUnits("100", 18)), symbol: "DEMO" }],
        `portfolio ${JSON.stringify(portfolio)}\n${output}`,
      );

      // The API serves the demo tenant: its admin signs in, its API key reads the tenant.
      const apiUrl = `http://127.0.0.1:${apiPort}`;
      assert.ok(output.includes(`API: ${apiUrl}`), output);
      const projectKey = /demo project key \(X-Project-Key\)\s+(\S+)/.exec(output)?.[1];
      const login = /demo admin login\s+(\S+) \/ (\S+)/.exec(output);
      const apiKey = /demo API key \(X-API-Key\)\s+(\S+)/.exec(output)?.[1];
      assert.ok(projectKey && login && apiKey, output);
      const session = await fetch(`${apiUrl}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-project-key": projectKey },
        body: JSON.stringify({ type: "password", email: login[1], password: login[2] }),
      });
      assert.equal(session.status, 200);
      const { tenantId } = (await session.json()) as { tenantId: string };
      const tenant = (await (
        await fetch(`${apiUrl}/tenants/${tenantId}`, { headers: { "x-api-key": apiKey } })
      ).json()) as { contracts: { pointsToken: string }; name: string };
      assert.equal(tenant.contracts.pointsToken, pointsToken);
      assert.equal(tenant.name, "Demo");
      // The API reads balances from the indexer where npm start put it (INDEXER_PORT).
      const balances = await fetch(`${apiUrl}/balances?address=${customer}`, { headers: { "x-api-key": apiKey } });
      assert.equal(balances.status, 200, await balances.clone().text());
      assert.match(await balances.text(), new RegExp(String(parseUnits("100", 18))));
      assert.equal(existsSync(join(deployments, "not-start")), false);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
  });
});
