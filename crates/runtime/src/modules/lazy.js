// URL, URLSearchParams, TextEncoder and TextDecoder for scripts, over natives of the host.
const native = globalThis.__iota_native;
delete globalThis.__iota_native;

const parse = (url, base) => (base === undefined ? native.urlParse(String(url)) : native.urlParse(String(url), String(base)));
const encodeForm = (s) =>
  encodeURIComponent(s)
    .replace(/%20/g, "+")
    .replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
const decodeForm = (s) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
};

export class URLSearchParams {
  #list = [];
  #url = null;

  constructor(init = "") {
    if (init instanceof URLSearchParams) {
      this.#list = init.#list.map(([k, v]) => [k, v]);
    } else if (typeof init === "object" && init !== null) {
      if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const entry = [...pair];
          if (entry.length !== 2) throw new TypeError("URLSearchParams: each pair needs a name and a value");
          this.#list.push([String(entry[0]), String(entry[1])]);
        }
      } else {
        for (const key of Object.keys(init)) this.#list.push([key, String(init[key])]);
      }
    } else {
      this.#parse(String(init));
    }
  }

  #parse(query) {
    this.#list = [];
    const text = query.startsWith("?") ? query.slice(1) : query;
    for (const part of text.split("&")) {
      if (!part) continue;
      const at = part.indexOf("=");
      const key = at < 0 ? part : part.slice(0, at);
      const value = at < 0 ? "" : part.slice(at + 1);
      this.#list.push([decodeForm(key), decodeForm(value)]);
    }
  }

  static _bind(params, url) {
    params.#url = url;
  }

  static _reload(params, query) {
    params.#parse(query);
  }

  #changed() {
    if (this.#url) URL._setQuery(this.#url, this.toString());
  }

  get size() {
    return this.#list.length;
  }
  append(name, value) {
    this.#list.push([String(name), String(value)]);
    this.#changed();
  }
  delete(name, value) {
    const key = String(name);
    this.#list = this.#list.filter(([k, v]) => !(k === key && (value === undefined || v === String(value))));
    this.#changed();
  }
  get(name) {
    const key = String(name);
    const found = this.#list.find(([k]) => k === key);
    return found ? found[1] : null;
  }
  getAll(name) {
    const key = String(name);
    return this.#list.filter(([k]) => k === key).map(([, v]) => v);
  }
  has(name, value) {
    const key = String(name);
    return this.#list.some(([k, v]) => k === key && (value === undefined || v === String(value)));
  }
  set(name, value) {
    const key = String(name);
    const text = String(value);
    const first = this.#list.findIndex(([k]) => k === key);
    if (first < 0) {
      this.#list.push([key, text]);
    } else {
      this.#list[first][1] = text;
      this.#list = this.#list.filter(([k], i) => i <= first || k !== key);
    }
    this.#changed();
  }
  sort() {
    this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#changed();
  }
  forEach(callback, thisArg) {
    for (const [k, v] of this.#list) callback.call(thisArg, v, k, this);
  }
  keys() {
    return this.#list.map(([k]) => k)[Symbol.iterator]();
  }
  values() {
    return this.#list.map(([, v]) => v)[Symbol.iterator]();
  }
  entries() {
    return this.#list.map(([k, v]) => [k, v])[Symbol.iterator]();
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    return this.#list.map(([k, v]) => encodeForm(k) + "=" + encodeForm(v)).join("&");
  }
}

export class URL {
  #parts;
  #params;

  constructor(url, base) {
    this.#parts = parse(url, base);
    this.#params = new URLSearchParams(this.#parts.search);
    URLSearchParams._bind(this.#params, this);
  }

  static canParse(url, base) {
    try {
      parse(url, base);
      return true;
    } catch {
      return false;
    }
  }

  static _setQuery(url, query) {
    url.#parts = native.urlSet(url.#parts.href, "search", query);
  }

  #set(part, value) {
    this.#parts = native.urlSet(this.#parts.href, part, String(value));
    if (part === "search") URLSearchParams._reload(this.#params, this.#parts.search);
  }

  get href() {
    return this.#parts.href;
  }
  set href(value) {
    this.#parts = parse(value);
    URLSearchParams._reload(this.#params, this.#parts.search);
  }
  get origin() {
    return this.#parts.origin;
  }
  get protocol() {
    return this.#parts.protocol;
  }
  set protocol(value) {
    this.#set("protocol", value);
  }
  get username() {
    return this.#parts.username;
  }
  set username(value) {
    this.#set("username", value);
  }
  get password() {
    return this.#parts.password;
  }
  set password(value) {
    this.#set("password", value);
  }
  get host() {
    return this.#parts.host;
  }
  set host(value) {
    this.#set("host", value);
  }
  get hostname() {
    return this.#parts.hostname;
  }
  set hostname(value) {
    this.#set("hostname", value);
  }
  get port() {
    return this.#parts.port;
  }
  set port(value) {
    this.#set("port", value);
  }
  get pathname() {
    return this.#parts.pathname;
  }
  set pathname(value) {
    this.#set("pathname", value);
  }
  get search() {
    return this.#parts.search;
  }
  set search(value) {
    this.#set("search", value);
  }
  get hash() {
    return this.#parts.hash;
  }
  set hash(value) {
    this.#set("hash", value);
  }
  get searchParams() {
    return this.#params;
  }
  toString() {
    return this.#parts.href;
  }
  toJSON() {
    return this.#parts.href;
  }
}

export class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return new Uint8Array(native.utf8Encode(String(input)));
  }
}

export class TextDecoder {
  #fatal;
  constructor(label = "utf-8", options = {}) {
    const name = String(label).trim().toLowerCase();
    if (name !== "utf-8" && name !== "utf8" && name !== "unicode-1-1-utf-8") {
      throw new RangeError(`TextDecoder: only utf-8 is supported, not "${label}"`);
    }
    this.#fatal = Boolean(options && options.fatal);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  decode(input) {
    if (input === undefined) return "";
    let bytes;
    if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
    else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    else throw new TypeError("TextDecoder.decode: expected an ArrayBuffer or a typed array");
    return native.utf8Decode(Array.from(bytes), this.#fatal);
  }
}
