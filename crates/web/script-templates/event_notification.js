// Event notification: tells a chat or alerting webhook about each new order, once per event
// (a redelivered event is recognised by its id). Set NOTIFY_URL to send; without one the
// message is only logged.
const NOTIFY_URL = "";

export async function handleEvent(event) {
  const key = "notified:" + event.event_id;
  if (await sdk.cache.exists(key)) {
    sdk.log.info("already notified", { eventId: event.event_id });
    return { notified: false, duplicate: true };
  }
  const text = utils.template("New order {{ orderId }}: {{ total }} ({{ type }})", {
    ...(event.payload ?? {}),
    type: event.type,
  });
  if (NOTIFY_URL) {
    const response = await sdk.http.post(NOTIFY_URL, { text });
    if (response.status >= 300) {
      throw new Error(`the notification webhook answered ${response.status}`);
    }
  } else {
    sdk.log.info("notification (NOTIFY_URL is not set)", { text });
  }
  await sdk.cache.set(key, true, 24 * 60 * 60);
  return { notified: Boolean(NOTIFY_URL), text };
}
