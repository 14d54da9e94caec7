import { Hono } from "hono";

// Ponder requires an API file; the baseline serves nothing beyond /ready and /status.
export default new Hono();
