// npm skips an optional dependency whose `engines` does not match the Node
// that runs npm. These machines run npm on Node 20 while the project runs on
// the Node 22 from the `node` package, so npm drops the native packages that
// require Node 22 (Hardhat's EDR binding). This puts back every such package
// that the lockfile lists for this platform. Plain JavaScript: it runs on
// whatever Node runs npm.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const libc = process.report?.getReport().header.glibcVersionRuntime ? "glibc" : "musl";

const matches = (list, value) =>
  !list || list.some((entry) => (entry.startsWith("!") ? entry.slice(1) !== value : entry === value));

const missing = Object.entries(lock.packages ?? {}).filter(
  ([path, entry]) =>
    path.startsWith("node_modules/") &&
    entry.optional &&
    entry.engines?.node &&
    matches(entry.os, process.platform) &&
    matches(entry.cpu, process.arch) &&
    (process.platform !== "linux" || matches(entry.libc, libc)) &&
    !existsSync(path),
);

for (const [path, entry] of missing) {
  const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
  const spec = `${name}@${entry.version}`;
  console.log(`install-native-bindings: adding ${spec}, skipped by npm for its engines`);
  const scratch = mkdtempSync(join(tmpdir(), "native-binding-"));
  try {
    const tarball = execFileSync("npm", ["pack", spec, "--silent", "--pack-destination", scratch], {
      encoding: "utf8",
    }).trim();
    mkdirSync(path, { recursive: true });
    execFileSync("tar", ["-xzf", join(scratch, tarball), "-C", path, "--strip-components=1"]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
