// JSON bodies only (files have their own multipart route), with a size limit; a body that is not
// JSON, or too large, is a problem rather than a crash.
import { bodyParser } from "@koa/bodyparser";
import type { Middleware } from "koa";
import { malformedJson, payloadTooLarge } from "../errors.ts";

export function jsonBody(limitBytes: number): Middleware {
  return bodyParser({
    enableTypes: ["json"],
    jsonLimit: limitBytes,
    encoding: "utf-8",
    onError: (error) => {
      throw (error as { status?: number }).status === 413 ? payloadTooLarge(limitBytes) : malformedJson();
    },
  });
}
