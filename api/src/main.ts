// `npm run api`: the API on its own, configured from the environment (see README).
import { ConfigError, readConfig } from "./config.ts";
import { startApi } from "./server.ts";

let api;
try {
  api = await startApi({ config: readConfig() });
} catch (error) {
  // A wrong setting (or an address in use, a database out of reach) is told, not thrown.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`api: cannot start: ${error.message}`);
  process.exit(1);
}
// Always printed, whatever LOG_LEVEL says: scripts wait for this line.
console.log(`api: listening on ${api.url}`);
const stop = async () => {
  await api.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
