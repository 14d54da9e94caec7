// `npx drizzle-kit generate --config api/drizzle.config.ts` writes a new SQL migration into
// api/migrations/ from api/src/db/schema.ts; the API runs pending migrations at start.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: [
    "./api/src/db/schema.ts",
    "./api/src/db/relaySchema.ts",
    "./api/src/db/webhooksSchema.ts",
    "./api/src/db/purchasesSchema.ts",
    "./api/src/db/redemptionsSchema.ts",
  ],
  out: "./api/migrations",
});
