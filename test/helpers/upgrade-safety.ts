/**
 * Upgrade-safety checks for node:test tests, built on `@openzeppelin/upgrades-core`
 * (the hardhat-upgrades plugin does not run on this Hardhat 3 setup).
 *
 *   await assertUpgradeSafe("BoxV1");                    // like upgrades.validateImplementation
 *   await assertStorageUpgradeSafe("BoxV1", "BoxV2");    // storage layout V1 -> V2
 *   await assertUpgradeSafeUpgrade("BoxV1", "BoxV2");    // both: like upgrades.validateUpgrade
 *   const r = await checkStorageUpgrade("BoxV1", "BoxV2Bad"); r.ok; r.explain(false);
 *
 * How it works, per contract:
 *  1. `artifacts.readArtifact(name)` gives the artifact's `buildInfoId` and `inputSourceName`
 *     (e.g. "project/contracts/Box.sol"); `artifacts.getBuildInfoPath/getBuildInfoOutputPath(id)`
 *     give artifacts/build-info/<id>.json (solc input, `_format: hh3-sol-build-info-1`) and
 *     <id>.output.json (solc output). The output must contain `storageLayout`: hardhat.config.ts
 *     needs `solidity.settings.outputSelection: { "*": { "*": ["storageLayout"] } }`.
 *  2. ERC-7201 namespaced structs are not state variables, so solc gives no layout for them. As
 *     hardhat-upgrades does, `makeNamespacedInput` rewrites the sources (a state variable per
 *     namespaced struct, function bodies removed) and the result is compiled again, here with the
 *     npm `solc` WASM build (must be the build info's exact version). Its output is passed to
 *     `validate()` as `namespacedOutput`, so namespaced fields get slots, offsets and sizes.
 *     (`UpgradeableContract` from upgrades-core does NOT do this step.) Done once per build info,
 *     cached in memory and on disk (cache/upgrade-safety/<sha256 of the build info input>.json).
 *  3. `validate` / `getContractVersion` / `getErrors` / `getStorageLayout` /
 *     `getStorageUpgradeReport` from upgrades-core do the rest.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

import {
  getContractVersion,
  getErrors,
  getStorageLayout,
  getStorageUpgradeReport,
  isNamespaceSupported,
  makeNamespacedInput,
  solcInputOutputDecoder,
  trySanitizeNatSpec,
  UpgradeableContractErrorReport,
  validate,
  withValidationDefaults,
} from "@openzeppelin/upgrades-core";
import type {
  SolcInput,
  SolcOutput,
  StorageLayout,
  ValidationOptions,
  ValidationRunData,
  Version,
} from "@openzeppelin/upgrades-core";
import type { ArtifactManager } from "hardhat/types/artifacts";

/** upgrades-core's ValidationError (not exported from its index): `kind`, `src`, ... */
export type ValidationError = ReturnType<typeof getErrors>[number];

/** Validation options of upgrades-core; `kind` defaults to "uups" here (upgrades-core: "transparent"). */
export type UpgradeSafetyOptions = ValidationOptions;

/** Where to find artifacts and where to cache; defaults to the `hardhat` runtime environment. */
export interface UpgradeSafetyContext {
  artifacts: ArtifactManager;
  /** Directory for the namespaced-compilation cache; `null` disables the disk cache. */
  cacheDir: string | null;
}

export interface Report {
  ok: boolean;
  explain(color?: boolean): string;
}

export interface AnalyzedContract {
  /** Fully qualified name inside the build info, e.g. "project/contracts/Box.sol:Box". */
  fullyQualifiedName: string;
  buildInfoId: string;
  solcVersion: string;
  version: Version;
  layout: StorageLayout;
  /** upgrades-core `validate()` run data of the whole build info the contract is in. */
  runData: ValidationRunData;
}

export interface SafetyReport extends Report {
  contract: string;
  errors: ValidationError[];
}

export interface StorageReport extends Report {
  from: string;
  to: string;
}

let defaultContext: Promise<UpgradeSafetyContext> | undefined;

async function resolveContext(ctx?: Partial<UpgradeSafetyContext>): Promise<UpgradeSafetyContext> {
  if (ctx?.artifacts !== undefined) {
    return { artifacts: ctx.artifacts, cacheDir: ctx.cacheDir ?? null };
  }
  defaultContext ??= import("hardhat").then(({ default: hre }) => ({
    artifacts: hre.artifacts,
    cacheDir: path.join(hre.config.paths.cache, "upgrade-safety"),
  }));
  const resolved = await defaultContext;
  return ctx?.cacheDir === undefined ? resolved : { ...resolved, cacheDir: ctx.cacheDir };
}

function withDefaults(opts: UpgradeSafetyOptions): Required<ValidationOptions> {
  // withValidationDefaults pushes into unsafeAllow: never hand it the caller's array.
  return withValidationDefaults({ ...opts, kind: opts.kind ?? "uups", unsafeAllow: [...(opts.unsafeAllow ?? [])] });
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Runs upgrades-core's validations on one contract (name or fully qualified name, as for
 * `artifacts.readArtifact`) and returns its layout, version and validation data.
 */
export async function analyzeContract(
  contractName: string,
  ctx?: Partial<UpgradeSafetyContext>,
): Promise<AnalyzedContract> {
  const { artifacts, cacheDir } = await resolveContext(ctx);
  const artifact = await artifacts.readArtifact(contractName);
  const { buildInfoId, inputSourceName } = artifact;
  if (buildInfoId === undefined || inputSourceName === undefined) {
    throw new Error(`Artifact of ${contractName} has no buildInfoId/inputSourceName: rebuild with Hardhat 3`);
  }
  const fullyQualifiedName = `${inputSourceName}:${artifact.contractName}`;
  const { runData, solcVersion } = await validateBuildInfo(artifacts, buildInfoId, cacheDir);
  if (runData[fullyQualifiedName] === undefined) {
    throw new Error(`${fullyQualifiedName} not found in build info ${buildInfoId}`);
  }
  // Look the version up by fully qualified name: two contracts with the same bytecode stay distinct.
  const version = getContractVersion(runData, fullyQualifiedName);
  const layout = getStorageLayout(runData, version);
  return { fullyQualifiedName, buildInfoId, solcVersion, version, layout, runData };
}

/** Upgrade-safety validation of one implementation (what `validateImplementation` does). */
export async function checkUpgradeSafe(
  contractName: string,
  opts: UpgradeSafetyOptions = {},
  ctx?: Partial<UpgradeSafetyContext>,
): Promise<SafetyReport> {
  const c = await analyzeContract(contractName, ctx);
  const errors = getErrors(c.runData, c.version, withDefaults(opts));
  const report = new UpgradeableContractErrorReport(errors);
  return {
    contract: c.fullyQualifiedName,
    errors,
    ok: report.ok,
    explain: (color = false) => report.explain(color),
  };
}

export async function assertUpgradeSafe(
  contractName: string,
  opts: UpgradeSafetyOptions = {},
  ctx?: Partial<UpgradeSafetyContext>,
): Promise<void> {
  const report = await checkUpgradeSafe(contractName, opts, ctx);
  if (!report.ok) {
    throw new Error(`Contract ${report.contract} is not upgrade safe\n\n${report.explain(false)}`);
  }
}

/** Storage layout comparison of `from` (deployed version) with `to` (new version). */
export async function checkStorageUpgrade(
  from: string,
  to: string,
  opts: UpgradeSafetyOptions = {},
  ctx?: Partial<UpgradeSafetyContext>,
): Promise<StorageReport> {
  const [a, b] = await Promise.all([analyzeContract(from, ctx), analyzeContract(to, ctx)]);
  const report = getStorageUpgradeReport(a.layout, b.layout, withDefaults(opts));
  return {
    from: a.fullyQualifiedName,
    to: b.fullyQualifiedName,
    ok: report.ok,
    explain: (color = false) => report.explain(color),
  };
}

export async function assertStorageUpgradeSafe(
  from: string,
  to: string,
  opts: UpgradeSafetyOptions = {},
  ctx?: Partial<UpgradeSafetyContext>,
): Promise<void> {
  const report = await checkStorageUpgrade(from, to, opts, ctx);
  if (!report.ok) {
    throw new Error(
      `New storage layout of ${report.to} is incompatible with ${report.from}\n\n${report.explain(false)}`,
    );
  }
}

/** Both checks, like hardhat-upgrades' `validateUpgrade(from, to)`. */
export async function assertUpgradeSafeUpgrade(
  from: string,
  to: string,
  opts: UpgradeSafetyOptions = {},
  ctx?: Partial<UpgradeSafetyContext>,
): Promise<void> {
  await assertUpgradeSafe(to, opts, ctx);
  if (!opts.unsafeSkipStorageCheck) {
    await assertStorageUpgradeSafe(from, to, opts, ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// Build info loading and the namespaced compilation
// ---------------------------------------------------------------------------------------------

interface HardhatBuildInfo {
  _format: string;
  solcVersion: string;
  solcLongVersion: string;
  input: SolcInput;
}

interface RunResult {
  runData: ValidationRunData;
  solcVersion: string;
}

/** One upgrades-core `validate()` run per build info, shared by all its contracts. */
const runDataCache = new Map<string, Promise<RunResult>>();

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, "utf8")) as T;
}

function validateBuildInfo(artifacts: ArtifactManager, buildInfoId: string, cacheDir: string | null) {
  let pending = runDataCache.get(buildInfoId);
  if (pending === undefined) {
    pending = runValidation(artifacts, buildInfoId, cacheDir);
    runDataCache.set(buildInfoId, pending);
    pending.catch(() => runDataCache.delete(buildInfoId));
  }
  return pending;
}

async function runValidation(
  artifacts: ArtifactManager,
  buildInfoId: string,
  cacheDir: string | null,
): Promise<RunResult> {
  const [inputPath, outputPath] = await Promise.all([
    artifacts.getBuildInfoPath(buildInfoId),
    artifacts.getBuildInfoOutputPath(buildInfoId),
  ]);
  if (inputPath === undefined || outputPath === undefined) {
    throw new Error(`Build info ${buildInfoId} not found: run \`hardhat build\``);
  }
  const [buildInfo, { output }] = await Promise.all([
    readJson<HardhatBuildInfo>(inputPath),
    readJson<{ output: SolcOutput }>(outputPath),
  ]);
  if (buildInfo._format !== "hh3-sol-build-info-1") {
    throw new Error(`Unsupported build info format ${buildInfo._format} in ${inputPath}`);
  }
  const { input, solcVersion } = buildInfo;

  const missingLayout = Object.entries(output.contracts).find(([, contracts]) =>
    Object.values(contracts).some((c) => c.storageLayout === undefined),
  );
  if (missingLayout !== undefined) {
    throw new Error(
      `${outputPath} has no storageLayout for ${missingLayout[0]}: add ` +
        `solidity.settings.outputSelection = { "*": { "*": ["storageLayout"] } } to hardhat.config.ts and rebuild`,
    );
  }

  const usesNamespaces = Object.values(input.sources).some((s) => s.content?.includes("@custom:storage-location"));
  const namespacedOutput =
    usesNamespaces && isNamespaceSupported(solcVersion)
      ? await compileNamespaced(input, output, buildInfo, cacheDir)
      : undefined;

  const decodeSrc = solcInputOutputDecoder(input, output);
  const runData = validate(output, decodeSrc, solcVersion, input, namespacedOutput);
  return { runData, solcVersion };
}

interface SolcModule {
  version(): string;
  compile(input: string): string;
}

let solcModule: SolcModule | undefined;

function loadSolc(): SolcModule {
  // The npm `solc` package (WASM), the one hardhat.config.ts points Hardhat at.
  solcModule ??= createRequire(import.meta.url)("solc") as SolcModule;
  return solcModule;
}

/** Bump to invalidate the disk cache of namespaced compilations. */
const CACHE_VERSION = 1;

async function compileNamespaced(
  input: SolcInput,
  output: SolcOutput,
  buildInfo: HardhatBuildInfo,
  cacheDir: string | null,
): Promise<SolcOutput> {
  // The key is the original input: makeNamespacedInput is deterministic except for random
  // suffixes in the names it invents, so its result cannot serve as a key.
  const upgradesCoreVersion = (
    createRequire(import.meta.url)("@openzeppelin/upgrades-core/package.json") as {
      version: string;
    }
  ).version;
  const hash = createHash("sha256")
    .update(`${CACHE_VERSION}\0${upgradesCoreVersion}\0${buildInfo.solcLongVersion}\0`)
    .update(JSON.stringify(input))
    .digest("hex");
  const cacheFile = cacheDir === null ? null : path.join(cacheDir, `${hash}.json`);
  if (cacheFile !== null) {
    try {
      return await readJson<SolcOutput>(cacheFile);
    } catch {
      // not cached yet
    }
  }

  // makeNamespacedInput returns new source objects, which trySanitizeNatSpec then edits in place:
  // it strips NatSpec that is not on a struct (the rewrite could orphan it), where Slang supports
  // the solc version.
  const namespacedInput = await trySanitizeNatSpec(
    makeNamespacedInput(input, output, buildInfo.solcVersion),
    buildInfo.solcVersion,
  );

  const solc = loadSolc();
  if (!solc.version().startsWith(buildInfo.solcLongVersion)) {
    throw new Error(
      `The namespaced storage layout compilation needs solc ${buildInfo.solcLongVersion} (the build info's), ` +
        `but the npm solc package is ${solc.version()}`,
    );
  }
  const result = JSON.parse(solc.compile(JSON.stringify(namespacedInput))) as SolcOutput;
  const errors = (result.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(
      "Failed to compile the modified (namespaced) sources for ERC-7201 storage layout validation:\n\n" +
        errors.map((e) => e.formattedMessage).join("\n"),
    );
  }
  delete result.errors;

  if (cacheFile !== null && cacheDir !== null) {
    await mkdir(cacheDir, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(result));
    await rename(tmp, cacheFile);
  }
  return result;
}
