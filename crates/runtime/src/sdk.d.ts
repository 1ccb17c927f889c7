/**
 * Type declarations for IOTA Scripts: every global a script can use inside the sandbox.
 *
 * A script is an ES module (ES2020+, `async`/`await`, top-level `await`). Its entry point is
 * the default export if it is a function; else a function named `main` (exported or not);
 * else `handleRequest` for `http` scripts and `handleEvent` for `event` scripts. The entry
 * is called with one argument and its awaited return value, which must be JSON-serializable,
 * is the execution's output. `import` and `require` are not available; `eval` and
 * `new Function` are off unless the operator enables them.
 *
 * The standard ECMAScript built-ins (`JSON`, `Math`, `Date`, `Promise`, `Map`, `Set`, typed
 * arrays, `RegExp`, `Proxy`, `WeakRef`, …) come from TypeScript's own `lib`; this file
 * declares the rest. Use it with `lib: ["es2022"]` and without the DOM library, which
 * declares some of the same names differently.
 *
 * Every SDK failure is an `Error` with a `code` (see {@link SdkError}).
 *
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------------------------
// The entry argument and the return value
// ---------------------------------------------------------------------------------------------

/**
 * The request an `http` script receives as its argument (and in
 * `context.trigger.httpRequest`).
 *
 * @example
 * ```js
 * // Route: GET /orders/:id
 * export default async function handleRequest(request) {
 *   const order = await sdk.db.queryOne("SELECT * FROM orders WHERE id = $1", [request.params.id]);
 *   if (!order) return { status: 404, body: { error: "not found" } };
 *   return order;
 * }
 * ```
 */
interface HttpRequest {
  /** The HTTP method in upper case, such as `"GET"` or `"POST"`. */
  method: string;
  /** The request path, without the query string. */
  path: string;
  /** The request headers; names are in lower case. */
  headers: Record<string, string>;
  /** The query string parameters, decoded. */
  query: Record<string, string>;
  /** The path parameters of the route, such as `id` for `/orders/:id`. */
  params: Record<string, string>;
  /**
   * The body: parsed JSON for `application/json`, an object of fields for
   * `application/x-www-form-urlencoded`, otherwise the raw text (an empty string when there
   * is no body).
   */
  body: any;
}

/**
 * What an `http` script returns to choose the response. An object with a numeric `status`
 * is read as this shape; any other return value is sent as `200` with a JSON body.
 *
 * @example
 * ```js
 * export default async function handleRequest(request) {
 *   return {
 *     status: 201,
 *     headers: { "x-request-id": crypto.randomUUID() },
 *     body: { created: true },
 *   };
 * }
 * ```
 */
interface HttpScriptResponse {
  /** The HTTP status code of the response. */
  status: number;
  /** Response headers to add. */
  headers?: Record<string, string>;
  /** The body: a string is sent as is; anything else is sent as JSON. */
  body?: any;
}

/**
 * The event an `event` script receives as its argument.
 *
 * @example
 * ```js
 * export async function handleEvent(event) {
 *   sdk.log.info("order created", { eventId: event.event_id, depth: event.depth });
 *   await sdk.cache.increment("orders:" + event.payload.customerId);
 *   return { handled: event.type };
 * }
 * ```
 */
interface ScriptEvent {
  /** The unique id of the event (a UUID). */
  event_id: string;
  /** The event type, such as `"order.created"`. */
  type: string;
  /** The tenant the event belongs to (always the script's own tenant). */
  tenant_id: string;
  /** When the event was published (RFC 3339). */
  timestamp: string;
  /** The script that published the event, or `null` when the host or the API did. */
  source_script_id: string | null;
  /** How many script-published events lead to this one; chains deeper than 8 are refused. */
  depth: number;
  /** The data published with the event. */
  payload: any;
  /** Which delivery of the event this is: 1, then one more for each retry after a failure. */
  attempt: number;
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * The error every SDK call rejects (or throws) with: a plain `Error` with a `code` and a
 * safe message. An uncaught `SdkError` ends the execution with the same code.
 *
 * @example
 * ```js
 * export default async function main() {
 *   try {
 *     return (await sdk.http.get("https://api.example.com/status")).body;
 *   } catch (error) {
 *     if (error.code === "RATE_LIMIT") return { retryLater: true };
 *     throw error;
 *   }
 * }
 * ```
 */
interface SdkError extends Error {
  /**
   * What went wrong (a host service, `services.<name>.<method>`, may use codes of its own):
   * - `UNAVAILABLE`: the module, method or its back end is not available.
   * - `NOT_FOUND`: `services.<name>.<method>` names no service method.
   * - `TOO_MANY_CALLS`: more than 64 SDK calls of the execution are pending at once.
   * - `RATE_LIMIT`: the script used up its per-minute budget for this module.
   * - `RESULT_TOO_LARGE`: a result too large to hand to the script (for `sdk.db`: past its byte bounds).
   * - `TIMEOUT`: an HTTP request took longer than its timeout, or the execution has no time left.
   * - `SSRF_BLOCKED`: `sdk.http` refused a private, loopback, link-local or metadata address.
   * - `HTTP_ERROR`: an HTTP request could not complete (DNS, connection, TLS, redirects).
   * - `INVALID_REQUEST`: a bad HTTP method, header name or header value.
   * - `INVALID_URL`: a URL that does not parse, has no host, or is not `http` or `https`.
   * - `FORBIDDEN_HEADER`: `Host`, `Connection` or another connection-level header.
   * - `REQUEST_TOO_LARGE`: an HTTP request body larger than the size cap.
   * - `HEADERS_TOO_LARGE`: too many HTTP request headers, or too large together.
   * - `URL_TOO_LONG`: an HTTP request URL longer than the size cap.
   * - `RESPONSE_TOO_LARGE`: an HTTP response larger than the size cap.
   * - `UNAUTHORIZED_OPERATION`: a statement, table or function that scripts may not use.
   * - `INVALID_SQL`: SQL that cannot be parsed or run, or more than one statement.
   * - `QUERY_TIMEOUT`: a statement ran longer than 5 seconds.
   * - `ROW_LIMIT`: a query would return more than 1000 rows.
   * - `CONSTRAINT_VIOLATION`: a unique, foreign key, `NOT NULL` or `CHECK` constraint failed.
   * - `TYPE_MISMATCH`: a value of the wrong type for its column or parameter.
   * - `DATABASE_ERROR`: any other database failure.
   * - `DATABASE_BUSY`: the database is busy; try again.
   * - `TRANSACTION_NOT_FOUND`: no such open transaction.
   * - `TRANSACTION_EXPIRED`: the transaction is no longer open: it outlived its time.
   * - `INVALID_KEY`: a cache key that is not a string, is empty or too long, or holds control characters.
   * - `INVALID_TTL`: a cache TTL that is not a positive number of seconds within the maximum.
   * - `VALUE_TOO_LARGE`: a cache value larger than the per-value cap.
   * - `QUOTA_EXCEEDED`: the tenant's cache is full.
   * - `NOT_A_NUMBER`: `sdk.cache.increment` on a value that is not an integer, or past 64 bits.
   * - `CACHE_UNAVAILABLE`: the cache cannot be reached; try again.
   * - `INVALID_EVENT_TYPE`: an event type that is not like `order.created`.
   * - `CHAIN_TOO_DEEP`: an event published from a chain of events deeper than 8.
   * - `PAYLOAD_TOO_LARGE`: an event payload larger than the size cap.
   */
  code:
    | "UNAVAILABLE"
    | "NOT_FOUND"
    | "TOO_MANY_CALLS"
    | "RATE_LIMIT"
    | "RESULT_TOO_LARGE"
    | "TIMEOUT"
    | "SSRF_BLOCKED"
    | "HTTP_ERROR"
    | "INVALID_REQUEST"
    | "INVALID_URL"
    | "FORBIDDEN_HEADER"
    | "REQUEST_TOO_LARGE"
    | "HEADERS_TOO_LARGE"
    | "URL_TOO_LONG"
    | "RESPONSE_TOO_LARGE"
    | "UNAUTHORIZED_OPERATION"
    | "INVALID_SQL"
    | "QUERY_TIMEOUT"
    | "ROW_LIMIT"
    | "CONSTRAINT_VIOLATION"
    | "TYPE_MISMATCH"
    | "DATABASE_ERROR"
    | "DATABASE_BUSY"
    | "TRANSACTION_NOT_FOUND"
    | "TRANSACTION_EXPIRED"
    | "INVALID_KEY"
    | "INVALID_TTL"
    | "VALUE_TOO_LARGE"
    | "QUOTA_EXCEEDED"
    | "NOT_A_NUMBER"
    | "CACHE_UNAVAILABLE"
    | "INVALID_EVENT_TYPE"
    | "CHAIN_TOO_DEEP"
    | "PAYLOAD_TOO_LARGE"
    | (string & {});
}

// ---------------------------------------------------------------------------------------------
// context
// ---------------------------------------------------------------------------------------------

/**
 * What started the execution. Only the fields of its kind of trigger are present.
 */
interface IotaTrigger {
  /**
   * The kind of trigger: `manual` (run by hand), `api` (run through the API), `cron` (its
   * schedule fired), `http` (a request), `event` (a published event), `embedded` (host code)
   * or `retry` (a retried event run).
   */
  type: "manual" | "api" | "cron" | "http" | "event" | "embedded" | "retry";
  /** The event type, for event triggers. */
  eventType?: string;
  /** The event's payload, for event triggers. */
  eventPayload?: any;
  /** The event's id, for event triggers. */
  eventId?: string;
  /** The request, for HTTP triggers. */
  httpRequest?: HttpRequest;
  /** The request method, for HTTP triggers. */
  httpMethod?: string;
  /** The request path, for HTTP triggers. */
  httpPath?: string;
  /** The cron expression that fired, for cron triggers. */
  cronExpression?: string;
  /** The scheduled time of the tick (RFC 3339), for cron triggers. */
  cronTime?: string;
  /** The user who started the run, when a person did. */
  userId?: string;
}

/**
 * The facts of the current execution. Frozen: assigning to it has no effect.
 */
interface IotaContext {
  /** The tenant the script belongs to (a UUID). */
  tenantId: string;
  /** The user the script runs for, or `null` when no user started it (cron, events, …). */
  userId: string | null;
  /** The script's id (a UUID). */
  scriptId: string;
  /** This execution's id (a UUID). */
  executionId: string;
  /** The input of the run: the JSON given to a manual, one-off, scheduled or embedded run. */
  input: any;
  /** What started the execution. */
  trigger: Readonly<IotaTrigger>;
}

/**
 * The read-only facts of the current execution: tenant, user, script, execution, input and
 * trigger.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   sdk.log.info("started", { by: context.trigger.type, execution: context.executionId });
 *   if (context.trigger.type === "cron") return { tick: context.trigger.cronTime };
 *   return { tenant: context.tenantId, user: context.userId, input: context.input };
 * }
 * ```
 */
declare const context: Readonly<IotaContext>;

// ---------------------------------------------------------------------------------------------
// console
// ---------------------------------------------------------------------------------------------

/**
 * The console: every method writes one line to the execution's log, its arguments joined by
 * spaces (strings as they are, other values as JSON).
 */
interface IotaConsole {
  /** Writes an `info` line. */
  log(...args: any[]): void;
  /** Writes an `info` line. */
  info(...args: any[]): void;
  /** Writes a `debug` line. */
  debug(...args: any[]): void;
  /** Writes a `warn` line. */
  warn(...args: any[]): void;
  /** Writes an `error` line. */
  error(...args: any[]): void;
  /** Writes a `debug` line. */
  trace(...args: any[]): void;
}

/**
 * Writes to the execution's log, like `sdk.log` but without metadata. Log lines share the
 * per-minute log budget and the per-execution volume limit (1000 lines, 1 MiB).
 *
 * @example
 * ```js
 * export default function main(input) {
 *   console.log("input is", input);
 *   console.warn("this goes to the log at warn level");
 *   return null;
 * }
 * ```
 */
declare const console: IotaConsole;

// ---------------------------------------------------------------------------------------------
// sdk
// ---------------------------------------------------------------------------------------------

/**
 * Structured logging to the execution's log, with a level and optional metadata.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   sdk.log.info("syncing customers", { count: input.ids.length });
 *   sdk.log.debug({ step: "start" });
 *   sdk.log.error("sync failed", { reason: "remote returned 503" });
 *   return { ok: true };
 * }
 * ```
 */
interface SdkLog {
  /** Writes a `debug` line: `message` as text (non-strings as JSON) and `metadata` as JSON. */
  debug(message: any, metadata?: Record<string, any>): void;
  /** Writes an `info` line: `message` as text (non-strings as JSON) and `metadata` as JSON. */
  info(message: any, metadata?: Record<string, any>): void;
  /** Writes a `warn` line: `message` as text (non-strings as JSON) and `metadata` as JSON. */
  warn(message: any, metadata?: Record<string, any>): void;
  /** Writes an `error` line: `message` as text (non-strings as JSON) and `metadata` as JSON. */
  error(message: any, metadata?: Record<string, any>): void;
}

/** Options of an `sdk.http` request. */
interface HttpOptions {
  /** Request headers to send. */
  headers?: Record<string, string>;
  /** Query parameters to add to the URL. */
  query?: Record<string, string | number | boolean>;
  /** Timeout in milliseconds: default 10000, never more than the time the execution has left. */
  timeout?: number;
}

/** The response to an `sdk.http` request. Any status, including 4xx and 5xx, resolves. */
interface HttpResponse {
  /** The HTTP status code. */
  status: number;
  /** The response headers; names are in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON when the response is JSON, else the text. */
  body: any;
}

/**
 * Outgoing HTTP requests. A body object is sent as JSON, a string as text. Requests to
 * private, loopback, link-local, unique-local, multicast and cloud-metadata addresses are
 * refused with `SSRF_BLOCKED` (after DNS resolution and on every redirect), unless the
 * operator allowed them. Failures reject with an {@link SdkError}: `SSRF_BLOCKED`,
 * `TIMEOUT`, `RATE_LIMIT`, `RESPONSE_TOO_LARGE` or `HTTP_ERROR`.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   const search = await sdk.http.get("https://api.example.com/customers", {
 *     query: { email: input.email },
 *     headers: { accept: "application/json" },
 *     timeout: 5000,
 *   });
 *   if (search.status !== 200) return { error: search.status };
 *   const created = await sdk.http.post("https://api.example.com/notes", {
 *     customer: search.body.id,
 *     text: "Welcome!",
 *   });
 *   return { status: created.status, note: created.body };
 * }
 * ```
 */
interface SdkHttp {
  /** Sends a `GET` request. */
  get(url: string, options?: HttpOptions): Promise<HttpResponse>;
  /** Sends a `POST` request; an object `body` is sent as JSON, a string as text. */
  post(url: string, body?: any, options?: HttpOptions): Promise<HttpResponse>;
  /** Sends a `PUT` request; an object `body` is sent as JSON, a string as text. */
  put(url: string, body?: any, options?: HttpOptions): Promise<HttpResponse>;
  /** Sends a `PATCH` request; an object `body` is sent as JSON, a string as text. */
  patch(url: string, body?: any, options?: HttpOptions): Promise<HttpResponse>;
  /** Sends a `DELETE` request. */
  delete(url: string, options?: HttpOptions): Promise<HttpResponse>;
}

/**
 * The statements of a database transaction: the same as `sdk.db` without `transaction`.
 */
interface DbTransaction {
  /** Runs a statement in the transaction and returns its rows (at most 1000). */
  query(sql: string, params?: any[]): Promise<Record<string, any>[]>;
  /** Runs a statement in the transaction and returns its first row, or `null`. */
  queryOne(sql: string, params?: any[]): Promise<Record<string, any> | null>;
  /** Runs a statement in the transaction and returns the number of rows it affected. */
  execute(sql: string, params?: any[]): Promise<number>;
}

/**
 * SQL on the tables the operator made available to scripts, restricted to the script's
 * tenant. One statement per call: `SELECT`, `INSERT`, `UPDATE` or `DELETE` (with `WITH`
 * around them allowed), with placeholders `$1, $2, …` or `?` bound to `params`. Other
 * tenants' rows are invisible and unwritable; inserts get the tenant id automatically (do
 * not list the tenant column). Failures reject with an {@link SdkError}: `ROW_LIMIT` (more
 * than 1000 rows), `QUERY_TIMEOUT` (more than 5 s), `UNAUTHORIZED_OPERATION`,
 * `INVALID_SQL` or `RATE_LIMIT`.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   const open = await sdk.db.query(
 *     "SELECT id, total FROM orders WHERE status = $1 ORDER BY id LIMIT 100",
 *     ["open"],
 *   );
 *   const orderId = await sdk.db.transaction(async (tx) => {
 *     const order = await tx.queryOne(
 *       "INSERT INTO orders (customer_id, total, status) VALUES (?, ?, ?) RETURNING id",
 *       [input.customerId, input.total, "open"],
 *     );
 *     await tx.execute("UPDATE customers SET order_count = order_count + 1 WHERE id = ?", [
 *       input.customerId,
 *     ]);
 *     return order.id;
 *   });
 *   return { open: open.length, created: orderId };
 * }
 * ```
 */
interface SdkDb {
  /** Runs a statement and returns its rows as objects keyed by column name (at most 1000). */
  query(sql: string, params?: any[]): Promise<Record<string, any>[]>;
  /** Runs a statement and returns its first row, or `null` when there is none. */
  queryOne(sql: string, params?: any[]): Promise<Record<string, any> | null>;
  /** Runs an `INSERT`, `UPDATE` or `DELETE` and returns the number of rows it affected. */
  execute(sql: string, params?: any[]): Promise<number>;
  /**
   * Runs `fn` in a transaction: commits when the promise it returns resolves, rolls back
   * when it rejects (and then rejects with the same error). Resolves with `fn`'s result.
   */
  transaction<T>(fn: (tx: DbTransaction) => Promise<T>): Promise<T>;
}

/**
 * A key-value cache private to the script: keys are prefixed with
 * `tenant:{tenantId}:script:{scriptId}:`, so scripts and tenants never see each other's keys.
 * Values are stored as JSON. Failures reject with an {@link SdkError}: `VALUE_TOO_LARGE`,
 * `QUOTA_EXCEEDED` or `RATE_LIMIT`.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   let rates = await sdk.cache.get("rates");
 *   if (rates === null) {
 *     rates = (await sdk.http.get("https://api.example.com/rates")).body;
 *     await sdk.cache.set("rates", rates, 300);
 *   }
 *   const calls = await sdk.cache.increment("calls");
 *   if (calls === 1) await sdk.cache.expire("calls", 3600);
 *   return { rate: rates[input.currency], callsThisHour: calls };
 * }
 * ```
 */
interface SdkCache {
  /** Returns the value stored under `key`, or `null` when there is none (or it expired). */
  get(key: string): Promise<any | null>;
  /** Stores `value` (as JSON) under `key`, expiring after `ttlSeconds` when given. */
  set(key: string, value: any, ttlSeconds?: number): Promise<boolean>;
  /** Removes `key`; resolves `true` when it existed. */
  delete(key: string): Promise<boolean>;
  /** Resolves `true` when `key` holds a value. */
  exists(key: string): Promise<boolean>;
  /** Adds `delta` (default 1) to the number under `key`, atomically; a missing key counts from 0. */
  increment(key: string, delta?: number): Promise<number>;
  /** Sets `key` to expire in `ttlSeconds`; resolves `false` when the key does not exist. */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
}

/** The SDK: logging, outgoing HTTP, the database and the cache. */
interface Sdk {
  /** Structured logging to the execution's log. */
  log: SdkLog;
  /** Outgoing HTTP requests, guarded against server-side request forgery. */
  http: SdkHttp;
  /** Tenant-scoped SQL on the tables the operator made available. */
  db: SdkDb;
  /** A key-value cache private to the script. */
  cache: SdkCache;
}

/**
 * The SDK: `sdk.log`, `sdk.http`, `sdk.db` and `sdk.cache`.
 *
 * @example
 * ```js
 * export default async function main() {
 *   const rows = await sdk.db.query("SELECT id FROM customers LIMIT 10");
 *   await sdk.cache.set("last-count", rows.length, 60);
 *   sdk.log.info("counted customers", { count: rows.length });
 *   return rows;
 * }
 * ```
 */
declare const sdk: Sdk;

// ---------------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------------

/**
 * Domain events in the script's tenant.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   await events.publish("invoice.paid", { invoiceId: input.id, amount: input.amount });
 *   return { published: true };
 * }
 * ```
 */
interface IotaEvents {
  /**
   * Publishes an event in the script's tenant; scripts subscribed to `type` run once each.
   * `type` is dot-separated lower-case words, such as `order.created`
   * (`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`), else `INVALID_EVENT_TYPE`. The event gets
   * `event_id`, `tenant_id`, `timestamp`, `source_script_id` and a chain depth; an event
   * published from a chain deeper than 8 is refused with `CHAIN_TOO_DEEP`.
   */
  publish(type: string, payload?: any): Promise<boolean>;
}

/**
 * Publishes domain events (`events.publish(type, payload)`).
 *
 * @example
 * ```js
 * export async function handleEvent(event) {
 *   await events.publish("order.fulfilled", { orderId: event.payload.orderId });
 *   return null;
 * }
 * ```
 */
declare const events: IotaEvents;

// ---------------------------------------------------------------------------------------------
// services
// ---------------------------------------------------------------------------------------------

/**
 * The services the host application registered: `services.<service>.<method>(...args)`
 * calls the host with the execution's tenant and user and resolves with its JSON result.
 *
 * Host applications describe their services by augmenting this interface (declaration
 * merging) in a declaration file loaded next to this one, which gives typed autocomplete.
 * Each service is an object type whose members are methods returning promises:
 *
 * ```ts
 * interface IotaServices {
 *   clients: {
 *     list(filter?: { active?: boolean }): Promise<{ id: string; name: string }[]>;
 *     get(id: string): Promise<{ id: string; name: string } | null>;
 *   };
 * }
 * ```
 *
 * @example
 * ```js
 * export default async function main() {
 *   const clients = await services.clients.list({ active: true });
 *   return clients.map((client) => client.name);
 * }
 * ```
 */
interface IotaServices {
  /** A registered service: its methods, each returning a promise of its JSON result. */
  [service: string]: { [method: string]: (...args: any[]) => Promise<any> };
}

/**
 * The host application's services, such as `services.clients.list({ active: true })`.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   const client = await services.clients.get(input.clientId);
 *   return client ?? { missing: input.clientId };
 * }
 * ```
 */
declare const services: IotaServices;

// ---------------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------------

/**
 * Calls `callback(...args)` once after `ms` milliseconds (default 0). Timers never outlive
 * the execution: they stop when the entry point's promise settles or the time limit is
 * reached. More than 10000 pending timers fail with `TIMER_LIMIT`.
 *
 * @example
 * ```js
 * const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
 *
 * export default async function main() {
 *   await sleep(250);
 *   return { waited: 250 };
 * }
 * ```
 */
declare function setTimeout<A extends any[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;

/** Cancels a timer made by `setTimeout`; unknown or missing ids are ignored. */
declare function clearTimeout(id?: number): void;

/**
 * Calls `callback(...args)` every `ms` milliseconds until cleared or until the execution
 * ends. The execution ends as soon as the entry point's promise settles; timers still
 * pending then never fire.
 *
 * @example
 * ```js
 * export default async function main() {
 *   let ticks = 0;
 *   await new Promise((resolve) => {
 *     const id = setInterval(() => {
 *       ticks += 1;
 *       if (ticks === 3) {
 *         clearInterval(id);
 *         resolve();
 *       }
 *     }, 100);
 *   });
 *   return { ticks };
 * }
 * ```
 */
declare function setInterval<A extends any[]>(callback: (...args: A) => void, ms?: number, ...args: A): number;

/** Cancels a timer made by `setInterval`; unknown or missing ids are ignored. */
declare function clearInterval(id?: number): void;

// ---------------------------------------------------------------------------------------------
// Helpers: URL, URLSearchParams, TextEncoder, TextDecoder, base64, crypto, performance
// ---------------------------------------------------------------------------------------------

/**
 * A parsed URL (WHATWG URL standard). Setters that receive an invalid value leave the URL
 * unchanged.
 *
 * @example
 * ```js
 * export default function main() {
 *   const url = new URL("/v1/search?q=rust", "https://api.example.com");
 *   url.searchParams.append("page", "2");
 *   return { href: url.href, host: url.host, q: url.searchParams.get("q") };
 * }
 * ```
 */
declare class URL {
  /** Parses `url`, relative to `base` when given; throws a `TypeError` when it is invalid. */
  constructor(url: string | URL, base?: string | URL);
  /** Whether `new URL(url, base)` would succeed. */
  static canParse(url: string | URL, base?: string | URL): boolean;
  /** The whole URL; setting it parses a new URL. */
  href: string;
  /** The origin, such as `https://example.com:8443`. */
  readonly origin: string;
  /** The scheme with its colon, such as `https:`. */
  protocol: string;
  /** The user name, or an empty string. */
  username: string;
  /** The password, or an empty string. */
  password: string;
  /** The host name and the port, if any, such as `example.com:8443`. */
  host: string;
  /** The host name, such as `example.com`. */
  hostname: string;
  /** The port, or an empty string for the scheme's default port. */
  port: string;
  /** The path, such as `/a/b`. */
  pathname: string;
  /** The query string with its `?`, or an empty string. */
  search: string;
  /** The query parameters, live: changing them changes `search` and `href`. */
  readonly searchParams: URLSearchParams;
  /** The fragment with its `#`, or an empty string. */
  hash: string;
  /** The whole URL (the same as `href`). */
  toString(): string;
  /** The whole URL (the same as `href`), so that URLs serialize to JSON as strings. */
  toJSON(): string;
}

/**
 * The parameters of a query string (`application/x-www-form-urlencoded`), in order, with
 * repeated names allowed.
 *
 * @example
 * ```js
 * export default function main() {
 *   const params = new URLSearchParams({ q: "rust js", page: "2" });
 *   params.append("tag", "a");
 *   params.append("tag", "b");
 *   return { query: params.toString(), tags: params.getAll("tag"), size: params.size };
 * }
 * ```
 */
declare class URLSearchParams {
  /**
   * Builds the parameters from a query string (a leading `?` is ignored), a record of names
   * to values, an iterable of `[name, value]` pairs, or another `URLSearchParams`.
   */
  constructor(init?: string | Record<string, string> | Iterable<[string, string]> | URLSearchParams);
  /** The number of parameters, counting repeated names. */
  readonly size: number;
  /** Adds a parameter at the end. */
  append(name: string, value: string): void;
  /** Removes every parameter named `name` (only those with `value`, when given). */
  delete(name: string, value?: string): void;
  /** The first value of `name`, or `null`. */
  get(name: string): string | null;
  /** Every value of `name`, in order. */
  getAll(name: string): string[];
  /** Whether a parameter named `name` (with `value`, when given) exists. */
  has(name: string, value?: string): boolean;
  /** Sets `name` to `value`, replacing every parameter of that name. */
  set(name: string, value: string): void;
  /** Sorts the parameters by name, keeping the order of equal names. */
  sort(): void;
  /** Calls `callback(value, name, params)` for each parameter. */
  forEach(callback: (value: string, name: string, params: URLSearchParams) => void, thisArg?: any): void;
  /** The names, in order. */
  keys(): IterableIterator<string>;
  /** The values, in order. */
  values(): IterableIterator<string>;
  /** The `[name, value]` pairs, in order. */
  entries(): IterableIterator<[string, string]>;
  /** The `[name, value]` pairs, in order. */
  [Symbol.iterator](): IterableIterator<[string, string]>;
  /** The query string, without `?`, form-encoded (spaces as `+`). */
  toString(): string;
}

/**
 * Encodes strings as UTF-8 bytes.
 *
 * @example
 * ```js
 * export default function main() {
 *   const bytes = new TextEncoder().encode("héllo");
 *   return { length: bytes.length, text: new TextDecoder().decode(bytes) };
 * }
 * ```
 */
declare class TextEncoder {
  /** Always `"utf-8"`. */
  readonly encoding: "utf-8";
  /** The UTF-8 bytes of `input` (default an empty string). */
  encode(input?: string): Uint8Array;
}

/**
 * Decodes UTF-8 bytes to a string. Only UTF-8 is supported.
 *
 * @example
 * ```js
 * export default function main() {
 *   const bytes = new Uint8Array([104, 105]);
 *   return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
 * }
 * ```
 */
declare class TextDecoder {
  /**
   * Makes a UTF-8 decoder; any other `label` throws a `RangeError`. With `fatal`, invalid
   * bytes throw a `TypeError` instead of becoming U+FFFD.
   */
  constructor(label?: "utf-8" | "utf8" | "unicode-1-1-utf-8", options?: { fatal?: boolean });
  /** Always `"utf-8"`. */
  readonly encoding: "utf-8";
  /** Whether invalid bytes throw. */
  readonly fatal: boolean;
  /** Decodes the bytes of `input` (an empty string when omitted). */
  decode(input?: ArrayBuffer | ArrayBufferView): string;
}

/**
 * Decodes base64 to a "binary string" (one character per byte). Whitespace and missing
 * padding are accepted; invalid base64 throws.
 *
 * @example
 * ```js
 * export default function main(input) {
 *   const [user, password] = atob(input.basic).split(":");
 *   return { user, hasPassword: Boolean(password) };
 * }
 * ```
 */
declare function atob(data: string): string;

/**
 * Encodes a "binary string" (characters U+0000 to U+00FF) as base64; other characters throw.
 * For any text, encode it with `TextEncoder` first.
 *
 * @example
 * ```js
 * export default function main() {
 *   return { authorization: "Basic " + btoa("user:secret") };
 * }
 * ```
 */
declare function btoa(data: string): string;

/** Random values for scripts. */
interface IotaCrypto {
  /** A new random (version 4) UUID, such as `"3b241101-e2bb-4255-8caf-4136c566a962"`. */
  randomUUID(): string;
}

/**
 * Random values: `crypto.randomUUID()`.
 *
 * @example
 * ```js
 * export default async function main(input) {
 *   const id = crypto.randomUUID();
 *   await sdk.cache.set("job:" + id, input, 600);
 *   return { id };
 * }
 * ```
 */
declare const crypto: IotaCrypto;

/** Small helpers: hashing, HMAC, constant-time comparison, dates and templates. */
interface IotaUtils {
  /** The hash of `data` (as UTF-8), in hex (default) or base64. Throws a `TypeError` for other algorithms. */
  hash(algorithm: "sha256" | "sha512", data: string, encoding?: "hex" | "base64"): string;
  /** The HMAC of `data` with `key` (both as UTF-8), in hex (default) or base64: what webhook signatures use. */
  hmac(algorithm: "sha256" | "sha512", key: string, data: string, encoding?: "hex" | "base64"): string;
  /** Whether two strings are equal, in time that does not reveal where they differ (compare signatures with it). */
  timingSafeEqual(a: string, b: string): boolean;
  /**
   * A date (a `Date`, milliseconds since the epoch, or an RFC 3339 string) formatted with a
   * strftime pattern (default `%Y-%m-%dT%H:%M:%S%:z`) in an IANA timezone (default `UTC`).
   */
  formatDate(value: Date | number | string, format?: string, timeZone?: string): string;
  /** Replaces each `{{ path.to.value }}` in `text` with that value of `values` (empty when missing). */
  template(text: string, values?: Record<string, any>): string;
}

/**
 * Small helpers scripts keep needing.
 *
 * @example
 * ```js
 * export async function handleRequest(request) {
 *   const expected = utils.hmac("sha256", "webhook-secret", JSON.stringify(request.body));
 *   if (!utils.timingSafeEqual(expected, request.headers["x-signature"] ?? "")) {
 *     return { status: 401, body: "bad signature" };
 *   }
 *   const day = utils.formatDate(Date.now(), "%Y-%m-%d", "Europe/Berlin");
 *   return { status: 200, body: utils.template("Received on {{ day }}", { day }) };
 * }
 * ```
 */
declare const utils: IotaUtils;

/** A monotonic clock. */
interface IotaPerformance {
  /** Milliseconds, with fractions, since an arbitrary origin; for measuring durations. */
  now(): number;
}

/**
 * A monotonic clock for measuring durations: `performance.now()`.
 *
 * @example
 * ```js
 * export default async function main() {
 *   const start = performance.now();
 *   await sdk.http.get("https://api.example.com/ping");
 *   return { ms: Math.round(performance.now() - start) };
 * }
 * ```
 */
declare const performance: IotaPerformance;
