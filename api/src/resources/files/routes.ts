// Files: uploads kept on local disk, served with access checks. Anyone with a tenant credential
// uploads; PUBLIC files are readable with the project key, PRIVATE ones by their uploader and the
// tenant's ADMIN and SYSTEM callers. Another tenant's file, or a private one of someone else, is a 404.
import { createHash, randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Context } from "koa";
import { z } from "zod";
import { access, type Principal } from "../../auth/principal.ts";
import { files } from "../../db/schema.ts";
import { scopeOf } from "../../db/scope.ts";
import { conflict, forbidden, notFound } from "../../errors.ts";
import { date } from "../../http/fields.ts";
import { idParams } from "../../http/pagination.ts";
import { defineRoute, type Api } from "../../http/route.ts";
import { fileList, fileListQuery, fileMetadata, fileUpload } from "./schema.ts";
import { bytesPath, openBytes, removeBytes, storeBytes } from "./storage.ts";
import { receiveUpload, type Upload } from "./upload.ts";

type FileRow = typeof files.$inferSelect;

/**
 * 409 when the upload would take its uploader's or its tenant's stored files past their quota: a
 * size limit per file alone would let anyone with a token fill the disk. (Uploads at the same moment
 * are not serialised: each is checked against what was stored before the others, so together they
 * may pass a quota by their own sizes. The tenant's quota is what bounds the disk: every new wallet
 * that signs in is a new uploader.)
 */
async function assertWithinQuotas(ctx: Context, uploadedBy: string, size: number) {
  const { FILE_QUOTA_BYTES, FILE_TENANT_QUOTA_BYTES } = ctx.services.config;
  const scope = scopeOf(ctx);
  const [stored] = await scope.db
    .select({
      mine: sql<string>`coalesce(sum(${files.size}) filter (where ${files.uploadedBy} = ${uploadedBy}), 0)`,
      tenant: sql<string>`coalesce(sum(${files.size}), 0)`,
    })
    .from(files)
    .where(scope.where(files));
  if (Number(stored!.mine) + size > FILE_QUOTA_BYTES) {
    throw conflict(`Your stored files would pass their quota of ${FILE_QUOTA_BYTES} bytes: delete some first.`);
  }
  if (Number(stored!.tenant) + size > FILE_TENANT_QUOTA_BYTES) {
    throw conflict(`The tenant's stored files would pass their quota of ${FILE_TENANT_QUOTA_BYTES} bytes.`);
  }
}

/** Who an upload is recorded as: a BUSINESS caller uploads for its business. */
function actorOf(principal: Principal): string | undefined {
  if (principal.kind !== "tenant") return undefined;
  return principal.level === "BUSINESS" && principal.businessId
    ? `business:${principal.businessId}`
    : principal.subject;
}

const seesAll = (principal: Principal) =>
  principal.kind === "tenant" && (principal.level === "ADMIN" || principal.level === "SYSTEM");

const owns = (principal: Principal, row: FileRow) => seesAll(principal) || actorOf(principal) === row.uploadedBy;

const present = (principal: Principal, row: FileRow) => ({
  id: row.id,
  filename: row.filename,
  contentType: row.contentType,
  size: row.size,
  sha256: row.sha256,
  visibility: row.visibility,
  uploadedBy: owns(principal, row) ? row.uploadedBy : null,
  contentUrl: `/files/${row.id}/content`,
  createdAt: date(row.createdAt)!,
});

/** The tenant's file if the caller may read it; a 404 otherwise (its existence stays private). */
async function readableFile(ctx: Context, id: string): Promise<FileRow> {
  const row = await scopeOf(ctx).find(files, id, "file");
  if (row.visibility !== "PUBLIC" && !owns(ctx.state.principal!, row)) throw notFound("file");
  return row;
}

const isImage = (contentType: string) => contentType.startsWith("image/");

export function registerFiles(api: Api) {
  defineRoute(api, {
    method: "post",
    // The fingerprint covers JSON bodies, not the uploaded bytes.
    idempotent: false,
    path: "/files",
    summary: "Upload a file (multipart/form-data: one file in `file`, optional `visibility`)",
    tags: ["files"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    body: fileUpload,
    bodyType: "multipart",
    before: [receiveUpload],
    errors: [409],
    responses: { 201: { description: "Stored", schema: fileMetadata } },
    handler: async (ctx) => {
      const upload = ctx.state.upload as Upload;
      const scope = scopeOf(ctx);
      const uploadedBy = actorOf(ctx.state.principal!)!;
      await assertWithinQuotas(ctx, uploadedBy, upload.bytes.length);
      const id = randomUUID();
      const path = bytesPath(ctx.services.config, scope.tenantId, id);
      await storeBytes(path, upload.bytes);
      try {
        const row = await scope.insert(files, {
          id,
          uploadedBy,
          filename: upload.filename,
          contentType: upload.contentType,
          size: upload.bytes.length,
          sha256: createHash("sha256").update(upload.bytes).digest("hex"),
          visibility: upload.visibility,
        });
        ctx.status = 201;
        ctx.set("location", `/files/${row.id}`);
        ctx.body = present(ctx.state.principal!, row);
      } catch (error) {
        await removeBytes(path);
        throw error;
      }
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/files",
    summary:
      "List files: ADMIN and SYSTEM all of the tenant's, USER and BUSINESS their own, the project key the public ones",
    tags: ["files"],
    access: access.public,
    query: fileListQuery,
    responses: { 200: { description: "A page of files", schema: fileList } },
    handler: async (ctx) => {
      const principal = ctx.state.principal!;
      const { page, limit, sort, order, visibility, contentType } = ctx.input.query;
      const mine =
        principal.kind === "public"
          ? eq(files.visibility, "PUBLIC")
          : seesAll(principal)
            ? undefined
            : eq(files.uploadedBy, actorOf(principal)!);
      const result = await scopeOf(ctx).list(files, {
        page,
        limit,
        order,
        orderBy: sort === "size" ? files.size : sort === "filename" ? files.filename : files.createdAt,
        where: [
          mine,
          visibility ? eq(files.visibility, visibility) : undefined,
          contentType ? eq(files.contentType, contentType) : undefined,
        ],
      });
      ctx.body = { data: result.data.map((row) => present(principal, row)), pagination: result.pagination };
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/files/:id",
    summary: "Read a file's metadata",
    tags: ["files"],
    access: access.public,
    params: idParams,
    responses: { 200: { description: "The file's metadata", schema: fileMetadata } },
    handler: async (ctx) => {
      ctx.body = present(ctx.state.principal!, await readableFile(ctx, ctx.input.params.id));
    },
  });

  defineRoute(api, {
    method: "get",
    path: "/files/:id/content",
    summary: "Download a file's bytes (images inline, everything else as an attachment)",
    tags: ["files"],
    access: access.public,
    params: idParams,
    responses: {
      200: {
        description: "The bytes, with the type sniffed at upload",
        schema: z.string().meta({ type: "string", format: "binary" }),
        contentType: "application/octet-stream",
      },
    },
    handler: async (ctx) => {
      const row = await readableFile(ctx, ctx.input.params.id);
      const handle = await openBytes(bytesPath(ctx.services.config, row.tenantId, row.id));
      if (!handle) {
        ctx.log.error({ fileId: row.id }, "a file's bytes are missing from disk");
        throw notFound("file content");
      }
      if (!isImage(row.contentType)) ctx.attachment(row.filename);
      ctx.type = row.contentType;
      ctx.length = row.size;
      ctx.set("x-content-type-options", "nosniff");
      ctx.set("content-security-policy", "default-src 'none'; sandbox");
      ctx.set("cache-control", row.visibility === "PUBLIC" ? "public, max-age=300" : "private, no-store");
      ctx.etag = row.sha256;
      ctx.body = handle.createReadStream();
    },
  });

  defineRoute(api, {
    method: "delete",
    path: "/files/:id",
    summary: "Delete a file, its record and its bytes (the uploader, or the tenant's ADMIN and SYSTEM)",
    tags: ["files"],
    access: access.levels("USER", "BUSINESS", "ADMIN", "SYSTEM"),
    params: idParams,
    responses: { 204: { description: "Deleted" } },
    handler: async (ctx) => {
      const row = await readableFile(ctx, ctx.input.params.id);
      if (!owns(ctx.state.principal!, row)) throw forbidden("Only the uploader or the tenant's admins delete a file.");
      await scopeOf(ctx).remove(files, row.id, "file");
      await removeBytes(bytesPath(ctx.services.config, row.tenantId, row.id));
      ctx.status = 204;
    },
  });
}
