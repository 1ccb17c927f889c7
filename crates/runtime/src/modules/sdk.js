// The shapes of sdk.http, sdk.db, sdk.cache and events over one native: call(module, method,
// ...args), which goes through the host port and returns a promise. The native is handed to
// `build` and kept in its closure only: it never appears on globalThis.
export default function build(call) {

const request = (method) => (url, body, options) => call("http", "request", method, url, body, options);
const bodiless = (method) => (url, options) => call("http", "request", method, url, undefined, options);

const http = Object.freeze({
  get: bodiless("GET"),
  post: request("POST"),
  put: request("PUT"),
  patch: request("PATCH"),
  delete: bodiless("DELETE"),
});

const statements = (tx) =>
  Object.freeze({
    query: (sql, params) => call("db", "query", sql, params ?? [], tx),
    queryOne: (sql, params) => call("db", "queryOne", sql, params ?? [], tx),
    execute: (sql, params) => call("db", "execute", sql, params ?? [], tx),
  });

const db = Object.freeze({
  ...statements(null),
  async transaction(fn) {
    if (typeof fn !== "function") throw new TypeError("sdk.db.transaction expects a function");
    const tx = await call("db", "begin");
    let result;
    try {
      result = await fn(statements(tx));
    } catch (error) {
      await call("db", "rollback", tx);
      throw error;
    }
    await call("db", "commit", tx);
    return result;
  },
});

const cache = Object.freeze({
  get: (key) => call("cache", "get", key),
  set: (key, value, ttlSeconds) => call("cache", "set", key, value, ttlSeconds),
  delete: (key) => call("cache", "delete", key),
  exists: (key) => call("cache", "exists", key),
  increment: (key, delta) => call("cache", "increment", key, delta ?? 1),
  expire: (key, ttlSeconds) => call("cache", "expire", key, ttlSeconds),
});

const events = Object.freeze({
  publish: (type, payload) => call("events", "publish", type, payload ?? null),
});

return { http, db, cache, events };
}
