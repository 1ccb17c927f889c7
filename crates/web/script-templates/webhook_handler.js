// Webhook handler: accepts a provider's signed POST only when its HMAC-SHA256 signature
// (header `x-signature: sha256=<hex>`) matches, handles each delivery once, and publishes
// an event for the scripts that act on it. Replace SECRET with the provider's secret.
const SECRET = "replace-with-the-providers-secret";

export async function handleRequest(request) {
  const headers = request.headers ?? {};
  const body = typeof request.body === "string" ? request.body : JSON.stringify(request.body ?? {});
  const expected = "sha256=" + utils.hmac("sha256", SECRET, body);
  if (!utils.timingSafeEqual(expected, headers["x-signature"] ?? "")) {
    sdk.log.warn("webhook refused: bad signature");
    return { status: 401, body: { error: "bad signature" } };
  }

  const payload = typeof request.body === "string" ? JSON.parse(request.body || "{}") : request.body;
  const delivery = headers["x-delivery-id"] ?? utils.hash("sha256", body);
  if (await sdk.cache.exists("delivery:" + delivery)) {
    return { status: 200, body: { received: true, duplicate: true } };
  }
  await sdk.cache.set("delivery:" + delivery, true, 24 * 60 * 60);

  await events.publish("webhook.received", { delivery, type: payload.type ?? "unknown", data: payload });
  sdk.log.info("webhook accepted", { delivery, type: payload.type });
  return { status: 200, body: { received: true } };
}
