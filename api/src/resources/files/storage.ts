// Files' bytes on local disk: <FILES_DIR>/<tenantId>/<fileId>, both ids the server's own, so that
// nothing a client sends (its filename above all) becomes part of a path.
import { mkdir, open, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config } from "../../config.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const filesDir = (config: Config) => config.FILES_DIR ?? join(config.API_DATA_DIR, "files");

export function bytesPath(config: Config, tenantId: string, fileId: string): string {
  if (!UUID.test(tenantId) || !UUID.test(fileId)) throw new Error("file paths are made of ids only");
  return join(filesDir(config), tenantId, fileId);
}

export async function storeBytes(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes, { flag: "wx" });
}

/** An open handle on the bytes, or undefined when they are gone. */
export async function openBytes(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export const removeBytes = (path: string) => rm(path, { force: true });
