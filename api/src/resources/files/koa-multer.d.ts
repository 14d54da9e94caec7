// @koa/multer ships no types: multer's own, with middleware that Koa understands.
declare module "@koa/multer" {
  import type { Middleware } from "koa";
  import type originalMulter from "multer";

  type KoaMulter = {
    single(field: string): Middleware;
    array(field: string, maxCount?: number): Middleware;
    fields(fields: readonly originalMulter.Field[]): Middleware;
    none(): Middleware;
    any(): Middleware;
  };

  function multer(options?: originalMulter.Options): KoaMulter;
  namespace multer {
    const memoryStorage: typeof originalMulter.memoryStorage;
    const diskStorage: typeof originalMulter.diskStorage;
  }
  export default multer;
}
