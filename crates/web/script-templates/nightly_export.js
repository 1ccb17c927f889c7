// Nightly export: sends yesterday's orders to a reporting endpoint as one JSON document.
// Runs on its schedule (02:00 in the script's zone). Adapt the query to your table; set
// EXPORT_URL (or pass { "exportUrl": "…" } as input) to send. Without one it is a dry run:
// it counts and logs what it would send.
const EXPORT_URL = "";

export default async function main(input) {
  const now = Date.now();
  const day = utils.formatDate(now - 24 * 60 * 60 * 1000, "%Y-%m-%d");
  const today = utils.formatDate(now, "%Y-%m-%d");
  const orders = await sdk.db.query(
    "SELECT id, customer_id, total, status FROM orders WHERE created_at >= $1 AND created_at < $2 ORDER BY id",
    [day, today],
  );
  const total = orders.reduce((sum, order) => sum + Number(order.total), 0);
  sdk.log.info("orders to export", { day, count: orders.length, total });

  const url = input?.exportUrl ?? EXPORT_URL;
  if (!url) {
    return { day, count: orders.length, total, sent: false };
  }
  const response = await sdk.http.post(url, { day, orders, total });
  if (response.status >= 300) {
    throw new Error(`the export endpoint answered ${response.status}`);
  }
  await sdk.cache.set("last-export", { day, count: orders.length }, 7 * 24 * 60 * 60);
  return { day, count: orders.length, total, sent: true };
}
