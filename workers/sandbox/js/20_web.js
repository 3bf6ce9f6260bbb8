// Part 3: the Web-standard APIs Cloudflare Workers users expect: Headers,
// Request, Response, fetch and crypto (getRandomValues, randomUUID, subtle
// digest and HMAC). URL/URLSearchParams come from the vendored core-js
// polyfill (vendor/), compiled on first use (below).

function headerName(name) {
  const text = String(name);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(text)) {
    throw new NativeTypeError("Invalid header name: '" + text + "'");
  }
  return text.toLowerCase();
}

class Headers {
  #map = new NativeMap(); // lower-case name -> value
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, value] of init) this.append(name, value);
    } else if (typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const [name, value] = [...pair];
        this.append(name, value);
      }
    } else {
      for (const name of objectKeys(init)) this.append(name, init[name]);
    }
  }
  append(name, value) {
    const key = headerName(name);
    const text = String(value).trim();
    const old = this.#map.get(key);
    this.#map.set(key, old === undefined ? text : old + ", " + text);
  }
  set(name, value) {
    this.#map.set(headerName(name), String(value).trim());
  }
  get(name) {
    const value = this.#map.get(String(name).toLowerCase());
    return value === undefined ? null : value;
  }
  has(name) {
    return this.#map.has(String(name).toLowerCase());
  }
  delete(name) {
    this.#map.delete(String(name).toLowerCase());
  }
  forEach(callback, thisArg) {
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }
  *entries() {
    yield* [...this.#map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  *keys() {
    for (const [name] of this.entries()) yield name;
  }
  *values() {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "Headers";
  }
}

function headersObject(headers) {
  const out = {};
  for (const [name, value] of headers) out[name] = value;
  return out;
}

// A body given to Request/Response: bytes, plus the content type it implies.
function bodyInit(body) {
  if (body === undefined || body === null) return [null, null];
  if (typeof body === "string") return [utf8Encode(body), "text/plain;charset=UTF-8"];
  if (urlState !== null && body instanceof urlState[1]) {
    return [utf8Encode(String(body)), "application/x-www-form-urlencoded;charset=UTF-8"];
  }
  const view = viewBytes(body);
  if (view !== null) return [view.slice(), null];
  return [utf8Encode(String(body)), "text/plain;charset=UTF-8"];
}

class Body {
  #bytes;
  #used = false;
  constructor(bytes) {
    this.#bytes = bytes;
  }
  get bodyUsed() {
    return this.#used;
  }
  get body() {
    return this.#bytes; // no streams here: the bytes themselves
  }
  #take() {
    if (this.#used) return NativePromise.reject(new NativeTypeError("Body has already been used"));
    this.#used = true;
    return NativePromise.resolve(this.#bytes || new NativeUint8Array(0));
  }
  arrayBuffer() {
    return this.#take().then((b) => b.slice().buffer);
  }
  bytes() {
    return this.#take().then((b) => b.slice());
  }
  text() {
    return this.#take().then((b) => utf8Decode(b));
  }
  json() {
    return this.text().then((t) => parse(t));
  }
  static bytesOf(body) {
    return body.#bytes;
  }
}

class Request extends Body {
  #url;
  #method;
  #headers;
  #redirect;
  constructor(input, init = {}) {
    const base = input instanceof Request ? input : null;
    const [bytes, type] = init.body !== undefined ? bodyInit(init.body) : [base ? Body.bytesOf(base) : null, null];
    super(bytes);
    this.#url = String(new URL(base ? base.url : String(input)));
    const method = String(init.method ?? (base ? base.method : "GET"));
    const upper = method.toUpperCase();
    this.#method = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"].includes(upper) ? upper : method;
    this.#headers = new Headers(init.headers ?? (base ? base.headers : undefined));
    if (type !== null && !this.#headers.has("content-type")) this.#headers.set("content-type", type);
    this.#redirect = init.redirect ?? (base ? base.redirect : "follow");
    if ((this.#method === "GET" || this.#method === "HEAD") && bytes !== null) {
      throw new NativeTypeError("Request with GET/HEAD method cannot have body.");
    }
  }
  get url() { return this.#url; }
  get method() { return this.#method; }
  get headers() { return this.#headers; }
  get redirect() { return this.#redirect; }
  clone() { return new Request(this); }
}

class Response extends Body {
  #status;
  #statusText;
  #headers;
  #url;
  constructor(body = null, init = {}) {
    const [bytes, type] = bodyInit(body);
    super(bytes);
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError("Response status must be between 200 and 599, got " + status);
    }
    this.#status = status;
    this.#statusText = String(init.statusText ?? "");
    this.#headers = new Headers(init.headers);
    if (type !== null && !this.#headers.has("content-type")) this.#headers.set("content-type", type);
    this.#url = String(init.url ?? "");
  }
  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status < 300; }
  get headers() { return this.#headers; }
  get url() { return this.#url; }
  get redirected() { return false; }
  get type() { return "default"; }
  clone() {
    return new Response(Body.bytesOf(this), { status: this.#status, statusText: this.#statusText, headers: this.#headers, url: this.#url });
  }
  static json(data, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(stringify(data), { ...init, headers });
  }
  static redirect(url, status = 302) {
    return new Response(null, { status, headers: { location: String(new URL(String(url))) } });
  }
}

// A Response returned as the script's result is read as secutils' result.
function responseResult(response) {
  return { statusCode: response.status, headers: headersObject(response.headers), body: Body.bytesOf(response) };
}

async function fetch(input, init = undefined) {
  const request = new Request(input, init);
  const reply = await hostCall(
    "fetch",
    { url: request.url, method: request.method, headers: [...request.headers], redirect: request.redirect },
    Body.bytesOf(request),
  );
  return new Response(reply.status === 101 || reply.status < 200 ? null : reply.body, {
    status: reply.status < 200 ? 200 : reply.status,
    headers: reply.headers,
    url: reply.url,
  });
}

// --- crypto -------------------------------------------------------------------------
const HASHES = { "SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };
function hashName(algorithm) {
  const name = String(typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm).toUpperCase();
  if (!(name in HASHES)) throw new NativeError("NotSupportedError: unsupported hash " + name);
  return name;
}

class CryptoKey {
  #raw;
  constructor(raw, hash, extractable, usages) {
    this.#raw = raw;
    this.type = "secret";
    this.extractable = extractable;
    this.algorithm = freeze({ name: "HMAC", hash: freeze({ name: hash }), length: raw.length * 8 });
    this.usages = freeze([...usages]);
    freeze(this);
  }
  static rawOf(key) {
    if (!(key instanceof CryptoKey)) throw new NativeTypeError("key must be a CryptoKey");
    return key.#raw;
  }
}

function hmacKey(key, usage) {
  const raw = CryptoKey.rawOf(key);
  if (!key.usages.includes(usage)) throw new NativeError("InvalidAccessError: key usages do not include " + usage);
  return raw;
}

function hmac(key, data, usage) {
  const raw = hmacKey(key, usage);
  const bytes = bytesArg(data, "data");
  const body = new NativeUint8Array(raw.length + bytes.length);
  body.set(raw);
  body.set(bytes, raw.length);
  return hostCall("crypto.hmac", { hash: key.algorithm.hash.name, keyLength: raw.length }, body);
}

const subtle = freeze({
  digest: async (algorithm, data) =>
    (await hostCall("crypto.digest", { hash: hashName(algorithm) }, bytesArg(data, "data"))).buffer,
  importKey: async (format, keyData, algorithm, extractable, usages) => {
    if (format !== "raw") throw new NativeError("NotSupportedError: only the 'raw' format is supported");
    if (!algorithm || String(algorithm.name).toUpperCase() !== "HMAC") {
      throw new NativeError("NotSupportedError: only HMAC keys are supported");
    }
    const raw = bytesArg(keyData, "keyData").slice();
    if (raw.length === 0) throw new NativeError("DataError: the key is empty");
    return new CryptoKey(raw, hashName(algorithm.hash ?? "SHA-256"), extractable === true, usages || []);
  },
  exportKey: async (format, key) => {
    if (format !== "raw" || !key.extractable) throw new NativeError("InvalidAccessError: key is not extractable");
    return CryptoKey.rawOf(key).slice().buffer;
  },
  sign: async (_algorithm, key, data) => (await hmac(key, data, "sign")).buffer,
  verify: async (_algorithm, key, signature, data) => {
    const expected = await hmac(key, data, "verify");
    const given = bytesArg(signature, "signature");
    let diff = given.length ^ expected.length;
    for (let i = 0; i < expected.length; i++) diff |= expected[i] ^ (given[i] | 0);
    return diff === 0;
  },
});

const crypto = freeze({
  subtle,
  getRandomValues(array) {
    if (!isView(array) || array instanceof DataView || array instanceof Float32Array || array instanceof Float64Array) {
      throw new NativeTypeError("getRandomValues expects an integer typed array");
    }
    if (array.byteLength > 65536) throw new NativeError("QuotaExceededError: over 65536 bytes");
    new NativeUint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  },
  randomUUID() {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = hex(b);
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  },
});

defineGlobal("Headers", Headers);
defineGlobal("Request", Request);
defineGlobal("Response", Response);
defineGlobal("fetch", fetch);
defineGlobal("crypto", crypto);
defineGlobal("CryptoKey", CryptoKey);

// URL and URLSearchParams: core-js's implementation (vendor/), compiled the
// first time a script touches either. It costs ~4 ms per isolate, which
// every event of a "fresh" hook would otherwise pay. Once loaded, its objects
// join the builtins the integrity check watches (90_control.js).
const LAZY_GLOBALS = ["URL", "URLSearchParams"];
let urlState = null; // [URL, URLSearchParams] once loaded
const lazyAccessors = LAZY_GLOBALS.map((name) => ({
  get() {
    loadUrl();
    return g[name];
  },
  set(value) {
    loadUrl();
    g[name] = value;
  },
}));
function loadUrl() {
  if (urlState !== null) return;
  for (const name of LAZY_GLOBALS) delete g[name];
  // core-js wraps a global fetch (and Request) to take URLSearchParams
  // bodies (ours already does) and replaces Function.prototype.toString to
  // make its functions look native: all are put back as they were.
  const kept = [[g, "fetch"], [g, "Request"], [Function.prototype, "toString"]].map(
    ([target, name]) => [target, name, Object.getOwnPropertyDescriptor(target, name)],
  );
  indirectEval(urlPolyfillSource());
  for (const [target, name, descriptor] of kept) defineProperty(target, name, descriptor);
  urlState = LAZY_GLOBALS.map((name) => g[name]);
  for (const ctor of urlState) {
    watch(ctor);
    watch(ctor.prototype);
  }
}
LAZY_GLOBALS.forEach((name, i) => {
  defineProperty(g, name, { ...lazyAccessors[i], configurable: true, enumerable: false });
});
