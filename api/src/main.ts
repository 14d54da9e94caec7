// `npm run api`: the API on its own, configured from the environment (see README).
import { ConfigError, readConfig } from "./config.ts";
import { startApi } from "./server.ts";

let config;
try {
  config = readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const api = await startApi({ config });
// Always printed, whatever LOG_LEVEL says: scripts wait for this line.
console.log(`api: listening on ${api.url}`);
const stop = async () => {
  await api.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
