// What the HTTP benchmarks share: a server in a Node process of its own, and JSON calls to it.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { rpcUrlVariableFor } from "../deploy/deployment-file.ts";

export type ServeReturnType = { child: ChildProcess; match: RegExpExecArray };

export type BenchApiEnvironmentParameters = {
  /** Holds the deployment file and the API's data (PGlite, files). */
  workDir: string;
  chainId: number;
  rpcUrl: string;
  platformKey: string;
  /** A PostgreSQL database; embedded PGlite without it. */
  databaseUrl?: string;
  logLevel: string;
};

/** What every benchmarked API process is given: its chain, a fresh master key, no rate limits to speak of. */
export const benchApiEnvironment = (parameters: BenchApiEnvironmentParameters): Record<string, string> => ({
  API_PORT: "0",
  API_DATA_DIR: join(parameters.workDir, "api"),
  MASTER_KEY: randomBytes(32).toString("hex"),
  PLATFORM_API_KEY: parameters.platformKey,
  PERS_DEPLOYMENTS_DIR: parameters.workDir,
  [rpcUrlVariableFor(parameters.chainId)]: parameters.rpcUrl,
  RATE_LIMIT_PER_IP: "100000000",
  RATE_LIMIT_PER_KEY: "100000000",
  LOG_LEVEL: parameters.logLevel,
  DATABASE_URL: parameters.databaseUrl ?? "",
});

/** Starts a TypeScript entry in its own Node process and resolves once its output matches `ready`. */
export function serve(entry: string, env: Record<string, string>, ready: RegExp): Promise<ServeReturnType> {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = ready.exec(output);
      if (!match) return;
      // From here on the child's output is dropped, or kept in BENCH_LOG_DIR (one file per process).
      child.stdout!.off("data", onData);
      child.stderr!.off("data", onData);
      const logDir = process.env.BENCH_LOG_DIR;
      if (logDir) {
        mkdirSync(logDir, { recursive: true });
        const log = createWriteStream(join(logDir, `${basename(entry, ".ts")}-${child.pid}.log`));
        log.write(output);
        child.stdout!.pipe(log, { end: false });
        child.stderr!.pipe(log, { end: false });
      } else {
        child.stdout!.resume();
        child.stderr!.resume();
      }
      resolve({ child, match });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${entry} exited with ${code}:\n${output}`)));
  });
}

export type CallParameters = { method: string; headers?: Record<string, string>; body?: unknown };

/** A JSON request that must succeed; returns the parsed answer. */
export async function call(url: string, init: CallParameters): Promise<any> {
  const response = await fetch(url, {
    method: init.method,
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const body = (await response.json()) as any;
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Stops a child process and waits for it to exit (SIGKILL after `graceMs`). */
export function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
