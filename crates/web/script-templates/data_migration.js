// Data migration, run once by hand: fills in the status of orders that have none, in
// batches, each batch in one transaction. Run with { "dryRun": true } first to see how many
// rows it would change; then with { "dryRun": false }.
export default async function main(input) {
  const batchSize = Math.min(Math.max(Number(input?.batchSize) || 100, 1), 500);
  const pending = await sdk.db.queryOne("SELECT COUNT(*) AS n FROM orders WHERE status IS NULL");
  const toMigrate = Number(pending?.n ?? 0);
  if (input?.dryRun !== false) {
    sdk.log.info("dry run", { toMigrate });
    return { dryRun: true, toMigrate };
  }

  let migrated = 0;
  for (;;) {
    const changed = await sdk.db.transaction(async (tx) => {
      const rows = await tx.query(
        "SELECT id, total FROM orders WHERE status IS NULL ORDER BY id LIMIT $1",
        [batchSize],
      );
      for (const row of rows) {
        const status = Number(row.total) > 0 ? "open" : "void";
        await tx.execute("UPDATE orders SET status = $1 WHERE id = $2", [status, row.id]);
      }
      return rows.length;
    });
    migrated += changed;
    sdk.log.info("batch migrated", { changed, migrated });
    if (changed < batchSize) break;
  }
  return { dryRun: false, migrated };
}
