import { z } from "zod";
import { listQuery, paginated } from "../../http/pagination.ts";

export const fileVisibility = z.enum(["PUBLIC", "PRIVATE"]);

/** The multipart form's fields besides the file itself. */
export const uploadFields = z.strictObject({
  visibility: fileVisibility
    .default("PRIVATE")
    .meta({ description: "PUBLIC: anyone with the project key may read it; PRIVATE: the uploader and admins" }),
});

export const fileUpload = uploadFields
  .extend({
    file: z.string().meta({
      type: "string",
      format: "binary",
      description: "The file; its bytes must be of an allowed type (FILE_TYPES) and match the type it claims",
    }),
  })
  .meta({ id: "FileUpload" });

export const fileMetadata = z
  .object({
    id: z.uuid(),
    filename: z.string().meta({ description: "The name the uploader gave it (never part of a path)" }),
    contentType: z.string(),
    size: z.number().int(),
    sha256: z.string().meta({ description: "The bytes' SHA-256, in hex" }),
    visibility: fileVisibility,
    uploadedBy: z.string().nullable().meta({
      description: "`user:<id>`, `business:<id>`, `admin:<id>` or `key:<id>`; shown to the uploader and admins",
    }),
    contentUrl: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: "File" });

export const fileList = paginated(fileMetadata, "File");
export const fileListQuery = listQuery(["createdAt", "size", "filename"], {
  visibility: fileVisibility.optional(),
  contentType: z.string().max(100).optional(),
});
