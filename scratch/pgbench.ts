import { openDatabase } from "/work/main/api/src/db/client.ts";
import { tenantScope } from "/work/main/api/src/db/scope.ts";
import { businessTypes } from "/work/main/api/src/db/schema.ts";
import { sql } from "drizzle-orm";
for (const kind of ["memory", "pglite"] as const) {
  const d = await openDatabase(kind === "memory" ? { kind } : { kind, directory: "/tmp/pgb-" + Date.now() });
  const tid = crypto.randomUUID();
  await d.db.execute(sql`insert into tenants (id,name,external_id,project_key,chain_id,onchain_id,admin_address,contracts,creation_transaction) values (${tid},'t',${tid},${tid},1,'x','x','{}','x')`);
  const scope = tenantScope(d.db, tid);
  for (let i = 0; i < 20; i++) await scope.insert(businessTypes, { name: "n" + i, description: null });
  for (const [label, fn] of [
    ["select 1 (drizzle execute)", () => d.db.execute(sql`select 1`)],
    ["list 20", () => scope.list(businessTypes, { page: 1, limit: 20, order: "desc" })],
  ] as const) {
    for (let i = 0; i < 200; i++) await fn();
    const n = 2000; const t = performance.now();
    for (let i = 0; i < n; i++) await fn();
    console.log(kind, label, ((performance.now() - t) / n * 1000).toFixed(0), "µs");
  }
  await d.close();
}
