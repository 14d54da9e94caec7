// Runs the Ponder indexer (indexer/) as a child process and waits until it serves, so that
// `npm start` and the tests start it the same way.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Ponder's CLI on this Node (the package exports no path to it).
const ponderBin = join(root, "node_modules", "ponder", "dist", "esm", "bin", "ponder.js");

export type StartIndexerParameters = {
  port: number;
  /** Environment for the indexer: RPC_URL_<chainId>, PERS_DEPLOYMENTS_DIR, DATABASE_URL... */
  env: Record<string, string | undefined>;
  /** The database schema Ponder writes to. */
  schema?: string;
  /** Embedded PGlite's folder, when there is no DATABASE_URL. */
  pgliteDir?: string;
  /** Lines the indexer prints. */
  onOutput?: (text: string) => void;
  readyTimeoutMs?: number;
  /** The Ponder project; indexer/ by default. */
  projectRoot?: string;
};

export type IndexerProcess = { url: string; child: ChildProcess; stop: () => Promise<void> };

export async function startIndexer({
  port,
  env,
  schema = "pers",
  pgliteDir,
  onOutput = () => {},
  readyTimeoutMs = 180_000,
  projectRoot = join(root, "indexer"),
}: StartIndexerParameters): Promise<IndexerProcess> {
  const child = spawn(
    process.execPath,
    [ponderBin, "start", "--root", projectRoot, "--schema", schema, "--port", String(port), "--log-format", "pretty"],
    {
      cwd: root,
      env: childEnvironment({
        ...process.env,
        ...env,
        ...(pgliteDir ? { PONDER_PGLITE_DIR: pgliteDir } : {}),
        PONDER_TELEMETRY_DISABLED: "true",
      }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout!.on("data", (chunk: Buffer) => onOutput(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => onOutput(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the indexer exited with code ${child.exitCode} before it was ready`);
    const ready = await fetch(`${url}/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, child, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the indexer was not ready on ${url} within ${readyTimeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `undefined` removes a variable (Node would pass the string "undefined"). */
function childEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
