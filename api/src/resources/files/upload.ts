// Receiving one file: multipart only (@koa/multer, in memory, with limits), then its type sniffed
// from the bytes (file-type): it must be allowed and be what the upload claims.
import multer from "@koa/multer";
import originalMulter from "multer";
import { fileTypeFromBuffer } from "file-type";
import type { Context, Middleware } from "koa";
import type { Config } from "../../config.ts";
import { badRequest, payloadTooLarge, unsupportedMediaType, validationFailed } from "../../errors.ts";
import { uploadFields } from "./schema.ts";

export const FILE_FIELD = "file";

export type Upload = {
  filename: string;
  contentType: string;
  bytes: Buffer;
  visibility: "PUBLIC" | "PRIVATE";
};

type ReceivedFile = { originalname: string; mimetype: string; buffer: Buffer; fieldname: string };

function problemOf(error: unknown, maxBytes: number) {
  if (!(error instanceof originalMulter.MulterError)) return badRequest("The multipart body is malformed.");
  switch (error.code) {
    case "LIMIT_FILE_SIZE":
      return payloadTooLarge(maxBytes);
    case "LIMIT_UNEXPECTED_FILE":
    case "LIMIT_FILE_COUNT":
      return validationFailed([
        { path: `body.${error.field ?? FILE_FIELD}`, message: `send exactly one file, in the field "${FILE_FIELD}"` },
      ]);
    default:
      return badRequest(`The multipart body is refused: ${error.message}.`);
  }
}

function parserFor(config: Config): Middleware {
  return multer({
    storage: multer.memoryStorage(),
    defParamCharset: "utf8",
    limits: { fileSize: config.FILE_MAX_BYTES, files: 1, fields: 4, parts: 5, fieldSize: 200, headerPairs: 20 },
  }).single(FILE_FIELD);
}

const parsers = new WeakMap<Config, Middleware>();

/**
 * Parses the multipart body (after authentication: nobody unknown makes the API read a file) into
 * ctx.state.upload; every failure is a problem (400, 413 or 415).
 */
export const receiveUpload: Middleware = async (ctx, next) => {
  const { config } = ctx.services;
  if (!ctx.is("multipart/form-data")) {
    throw unsupportedMediaType(`Send the file as multipart/form-data, in the field "${FILE_FIELD}".`);
  }
  let parse = parsers.get(config);
  if (!parse) parsers.set(config, (parse = parserFor(config)));
  try {
    await parse(ctx, async () => {});
  } catch (error) {
    throw problemOf(error, config.FILE_MAX_BYTES);
  }
  ctx.state.upload = await checkedUpload(ctx, config);
  await next();
};

async function checkedUpload(ctx: Context, config: Config): Promise<Upload> {
  const file = (ctx.request as { file?: ReceivedFile }).file;
  const fields = uploadFields.safeParse({ ...(ctx.request.body as object) });
  const errors = fields.success
    ? []
    : fields.error.issues.map((issue) => ({
        path: ["body", ...issue.path.map(String)].join("."),
        message: issue.message,
      }));
  if (!file) errors.push({ path: `body.${FILE_FIELD}`, message: "required: one file" });
  if (errors.length || !file || !fields.success) throw validationFailed(errors);

  const sniffed = await fileTypeFromBuffer(file.buffer);
  if (!sniffed || !config.FILE_TYPES.includes(sniffed.mime)) {
    throw unsupportedMediaType(
      `Allowed file types: ${config.FILE_TYPES.join(", ")}; this file's bytes are ${sniffed?.mime ?? "of none of them"}.`,
    );
  }
  const claimed = file.mimetype.split(";")[0]!.trim().toLowerCase();
  if (claimed !== sniffed.mime) {
    throw unsupportedMediaType(`The file claims to be ${claimed || "nothing"} but its bytes are ${sniffed.mime}.`);
  }
  return { filename: cleanFilename(file.originalname), contentType: sniffed.mime, bytes: file.buffer, ...fields.data };
}

/** The client's name for the file, for display and downloads only: no path, no control characters. */
export function cleanFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const clean = base
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(0, 200);
  return clean === "" || clean === "." || clean === ".." ? "file" : clean;
}
