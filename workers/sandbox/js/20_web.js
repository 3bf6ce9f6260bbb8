// Part 3: the Web-standard APIs Cloudflare Workers users expect: Headers,
// Request, Response, fetch and crypto (getRandomValues, randomUUID, subtle
// digest and HMAC). URL/URLSearchParams come from the vendored core-js
// polyfill (vendor/), compiled on first use (below). What a script passes
// in is read as the Web's specs read it (its own iterables and getters
// included); what the runtime keeps or sends is read through private fields
// and captured builtins.

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
function headerName(name) {
  const text = String(name);
  if (RegExpPrototypeExec(HEADER_NAME, text) === null) {
    throw new TypeError("Invalid header name: '" + text + "'");
  }
  return StringPrototypeToLowerCase(text);
}
const headerValue = (value) => StringPrototypeTrim(String(value));
const byName = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
function appendHeader(map, name, value) {
  const key = headerName(name);
  const text = headerValue(value);
  const old = MapPrototypeGet(map, key);
  MapPrototypeSet(map, key, old === undefined ? text : old + ", " + text);
}

let headersList, headersHas, headersSet, headersFromList;
class Headers {
  #map = new Map(); // lower-case name -> value
  constructor(init) {
    if (init === undefined || init === null) return;
    if (#map in Object(init)) {
      MapPrototypeForEach(init.#map, (value, name) => MapPrototypeSet(this.#map, name, value));
    } else if (typeof init[SymbolIterator] === "function") {
      for (const pair of init) {
        const [name, value] = [...pair];
        appendHeader(this.#map, name, value);
      }
    } else {
      const names = ObjectKeys(init);
      for (let i = 0; i < names.length; i++) appendHeader(this.#map, names[i], init[names[i]]);
    }
  }
  append(name, value) {
    appendHeader(this.#map, name, value);
  }
  set(name, value) {
    MapPrototypeSet(this.#map, headerName(name), headerValue(value));
  }
  get(name) {
    const value = MapPrototypeGet(this.#map, StringPrototypeToLowerCase(String(name)));
    return value === undefined ? null : value;
  }
  has(name) {
    return MapPrototypeHas(this.#map, StringPrototypeToLowerCase(String(name)));
  }
  delete(name) {
    MapPrototypeDelete(this.#map, StringPrototypeToLowerCase(String(name)));
  }
  forEach(callback, thisArg) {
    const list = headersList(this);
    for (let i = 0; i < list.length; i++) ReflectApply(callback, thisArg, [list[i][1], list[i][0], this]);
  }
  *entries() {
    const list = headersList(this);
    for (let i = 0; i < list.length; i++) yield [list[i][0], list[i][1]];
  }
  *keys() {
    const list = headersList(this);
    for (let i = 0; i < list.length; i++) yield list[i][0];
  }
  *values() {
    const list = headersList(this);
    for (let i = 0; i < list.length; i++) yield list[i][1];
  }
  [SymbolIterator]() {
    return this.entries();
  }
  get [SymbolToStringTag]() {
    return "Headers";
  }
  // The runtime's own ways in, as closure bindings: a script can replace a
  // class's static methods, never these.
  static {
    // The sorted [name, value] pairs, as null-prototype arrays.
    headersList = (headers) => {
      const list = nullArray();
      MapPrototypeForEach(headers.#map, (value, name) => {
        const pair = nullArray();
        append(pair, name);
        append(pair, value);
        append(list, pair);
      });
      return ArrayPrototypeSort(list, byName);
    };
    headersHas = (headers, name) => MapPrototypeHas(headers.#map, name);
    headersSet = (headers, name, value) => MapPrototypeSet(headers.#map, headerName(name), headerValue(value));
    headersFromList = (list) => {
      const headers = new Headers();
      for (let i = 0; i < list.length; i++) appendHeader(headers.#map, list[i][0], list[i][1]);
      return headers;
    };
  }
}

function headersObject(headers) {
  const out = { __proto__: null };
  const list = headersList(headers);
  for (let i = 0; i < list.length; i++) out[list[i][0]] = list[i][1];
  return out;
}

// A body given to Request/Response: bytes, plus the content type it implies.
const bodyOf = (bytes, type) => ({ __proto__: null, bytes, type });
function bodyInit(body) {
  if (body === undefined || body === null) return bodyOf(null, null);
  if (typeof body === "string") return bodyOf(utf8Encode(body), "text/plain;charset=UTF-8");
  if (urlState !== null && body instanceof urlState[1]) {
    return bodyOf(utf8Encode(String(body)), "application/x-www-form-urlencoded;charset=UTF-8");
  }
  const view = viewBytes(body);
  if (view !== null) return bodyOf(copyBytes(view), null);
  return bodyOf(utf8Encode(String(body)), "text/plain;charset=UTF-8");
}

let bodyBytes;
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
    if (this.#used) throw new TypeError("Body has already been used");
    this.#used = true;
    return this.#bytes || new Uint8Array(0);
  }
  // async, and nothing awaited: a rejection for a used body, no `then`
  // looked up on a promise.
  async arrayBuffer() {
    return TypedArrayPrototypeGetBuffer(copyBytes(this.#take()));
  }
  async bytes() {
    return copyBytes(this.#take());
  }
  async text() {
    return utf8Decode(this.#take());
  }
  async json() {
    return JSONParse(utf8Decode(this.#take()));
  }
  static {
    bodyBytes = (body) => body.#bytes;
  }
}

const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
function urlText(input) {
  loadUrl();
  return String(new urlState[0](String(input)));
}

let isRequest, requestArgs;
class Request extends Body {
  #url;
  #method;
  #headers;
  #redirect;
  constructor(input, init = {}) {
    const base = isRequest(input) ? input : null;
    const { bytes, type } = init.body !== undefined ? bodyInit(init.body) : bodyOf(base ? bodyBytes(base) : null, null);
    super(bytes);
    this.#url = urlText(base ? base.#url : input);
    const method = String(init.method ?? (base ? base.#method : "GET"));
    const upper = StringPrototypeToUpperCase(method);
    this.#method = ArrayPrototypeIncludes(METHODS, upper) ? upper : method;
    this.#headers = new Headers(init.headers ?? (base ? base.#headers : undefined));
    if (type !== null && !headersHas(this.#headers, "content-type")) headersSet(this.#headers, "content-type", type);
    this.#redirect = init.redirect ?? (base ? base.#redirect : "follow");
    if ((this.#method === "GET" || this.#method === "HEAD") && bytes !== null) {
      throw new TypeError("Request with GET/HEAD method cannot have body.");
    }
  }
  get url() { return this.#url; }
  get method() { return this.#method; }
  get headers() { return this.#headers; }
  get redirect() { return this.#redirect; }
  clone() { return new Request(this); }
  static {
    isRequest = (value) => value !== null && typeof value === "object" && #url in value;
    // What fetch sends to the host: read from the private fields.
    requestArgs = (request) => ({
      __proto__: null,
      url: request.#url,
      method: request.#method,
      headers: headersList(request.#headers),
      redirect: String(request.#redirect),
    });
  }
}

let isResponse, responseResult, responseFromHost;
class Response extends Body {
  #status;
  #statusText;
  #headers;
  #url;
  constructor(body = null, init = {}) {
    const { bytes, type } = bodyInit(body);
    super(bytes);
    const status = init.status ?? 200;
    if (!NumberIsInteger(status) || status < 200 || status > 599) {
      throw new RangeError("Response status must be between 200 and 599, got " + status);
    }
    this.#status = status;
    this.#statusText = String(init.statusText ?? "");
    this.#headers = new Headers(init.headers);
    if (type !== null && !headersHas(this.#headers, "content-type")) headersSet(this.#headers, "content-type", type);
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
    return new Response(bodyBytes(this), { status: this.#status, statusText: this.#statusText, headers: this.#headers, url: this.#url });
  }
  static json(data, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(JSONStringify(data), { ...init, headers });
  }
  static redirect(url, status = 302) {
    return new Response(null, { status, headers: { location: urlText(url) } });
  }
  static {
    isResponse = (value) => value !== null && typeof value === "object" && #status in value;
    // A Response returned as the script's result, read as secutils' result.
    responseResult = (response) => ({
      __proto__: null,
      statusCode: response.#status,
      headers: headersObject(response.#headers),
      body: bodyBytes(response),
    });
    responseFromHost = (reply) => {
      const status = own(reply, "status");
      const response = new Response(status === 101 || status < 200 ? null : own(reply, "body"), {
        __proto__: null,
        status: status < 200 ? 200 : status,
        url: own(reply, "url"),
      });
      const list = own(reply, "headers");
      if (ArrayIsArray(list)) response.#headers = headersFromList(list);
      return response;
    };
  }
}

// The request goes to the host before anything is awaited.
async function fetch(input, init = undefined) {
  const request = new Request(input, init);
  const reply = await hostCall("fetch", requestArgs(request), bodyBytes(request));
  return responseFromHost(reply);
}

// --- crypto -------------------------------------------------------------------------
const HASHES = { __proto__: null, "SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };
function hashName(algorithm) {
  const given = typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm;
  const name = StringPrototypeToUpperCase(String(given));
  if (HASHES[name] === undefined) throw new Error("NotSupportedError: unsupported hash " + name);
  return name;
}

let cryptoKeyParts;
class CryptoKey {
  #raw;
  #hash;
  #usages;
  constructor(raw, hash, extractable, usages) {
    this.#raw = raw;
    this.#hash = hash;
    this.#usages = usages;
    const algorithm = ObjectFreeze({ name: "HMAC", hash: ObjectFreeze({ name: hash }), length: raw.length * 8 });
    const copy = [];
    for (let i = 0; i < usages.length; i++) ObjectDefineProperty(copy, i, enumerableData(usages[i]));
    ObjectDefineProperty(this, "type", enumerableData("secret"));
    ObjectDefineProperty(this, "extractable", enumerableData(extractable));
    ObjectDefineProperty(this, "algorithm", enumerableData(algorithm));
    ObjectDefineProperty(this, "usages", enumerableData(ObjectFreeze(copy)));
    ObjectFreeze(this);
  }
  static {
    cryptoKeyParts = (key, usage) => {
      if (key === null || typeof key !== "object" || !(#raw in key)) throw new TypeError("key must be a CryptoKey");
      if (usage !== undefined && !ArrayPrototypeIncludes(key.#usages, usage)) {
        throw new Error("InvalidAccessError: key usages do not include " + usage);
      }
      return { __proto__: null, raw: key.#raw, hash: key.#hash, extractable: key.extractable === true };
    };
  }
}

function hmac(key, data, usage) {
  const { raw, hash } = cryptoKeyParts(key, usage);
  const bytes = bytesArg(data, "data");
  const size = TypedArrayPrototypeGetLength(raw);
  const body = new Uint8Array(size + TypedArrayPrototypeGetLength(bytes));
  TypedArrayPrototypeSet(body, raw);
  TypedArrayPrototypeSet(body, bytes, size);
  return hostCall("crypto.hmac", { __proto__: null, hash, keyLength: size }, body);
}

function stringList(value) {
  const out = nullArray();
  if (value === undefined || value === null) return out;
  for (let i = 0; i < value.length; i++) append(out, String(value[i]));
  return out;
}

const subtle = ObjectFreeze({
  digest: async (algorithm, data) =>
    TypedArrayPrototypeGetBuffer(await hostCall("crypto.digest", { __proto__: null, hash: hashName(algorithm) }, bytesArg(data, "data"))),
  importKey: async (format, keyData, algorithm, extractable, usages) => {
    if (format !== "raw") throw new Error("NotSupportedError: only the 'raw' format is supported");
    if (!algorithm || StringPrototypeToUpperCase(String(algorithm.name)) !== "HMAC") {
      throw new Error("NotSupportedError: only HMAC keys are supported");
    }
    const raw = copyBytes(bytesArg(keyData, "keyData"));
    if (TypedArrayPrototypeGetLength(raw) === 0) throw new Error("DataError: the key is empty");
    return new CryptoKey(raw, hashName(algorithm.hash ?? "SHA-256"), extractable === true, stringList(usages));
  },
  exportKey: async (format, key) => {
    const parts = cryptoKeyParts(key);
    if (format !== "raw" || !parts.extractable) throw new Error("InvalidAccessError: key is not extractable");
    return TypedArrayPrototypeGetBuffer(copyBytes(parts.raw));
  },
  sign: async (_algorithm, key, data) => TypedArrayPrototypeGetBuffer(await hmac(key, data, "sign")),
  verify: async (_algorithm, key, signature, data) => {
    const expected = await hmac(key, data, "verify");
    const given = bytesArg(signature, "signature");
    const size = TypedArrayPrototypeGetLength(expected);
    let diff = TypedArrayPrototypeGetLength(given) ^ size;
    for (let i = 0; i < size; i++) diff |= expected[i] ^ (given[i] | 0);
    return diff === 0;
  },
});

const RANDOM_TYPES = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array"];
const crypto = ObjectFreeze({
  subtle,
  getRandomValues(array) {
    if (!ArrayPrototypeIncludes(RANDOM_TYPES, TypedArrayPrototypeGetSymbolToStringTag(array))) {
      throw new TypeError("getRandomValues expects an integer typed array");
    }
    const view = viewBytes(array);
    if (view === null) throw new TypeError("getRandomValues expects an unshared typed array");
    const size = TypedArrayPrototypeGetLength(view);
    if (size > 65536) throw new Error("QuotaExceededError: over 65536 bytes");
    TypedArrayPrototypeSet(view, randomBytes(size));
    return array;
  },
  randomUUID() {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = hex(b);
    const part = (from, to) => StringPrototypeSlice(h, from, to);
    return part(0, 8) + "-" + part(8, 12) + "-" + part(12, 16) + "-" + part(16, 20) + "-" + part(20);
  },
});

defineGlobal("Headers", Headers);
defineGlobal("Request", Request);
defineGlobal("Response", Response);
defineGlobal("fetch", fetch);
defineGlobal("crypto", crypto);
defineGlobal("CryptoKey", CryptoKey);

// URL and URLSearchParams: core-js's implementation (vendor/), compiled the
// first time a script (or the runtime's Request) touches either. It costs
// ~4 ms per isolate, which every event of a "fresh" hook would otherwise
// pay. It is library code in the script's realm: compiled after a script
// replaced builtins, it uses them as it finds them (the host parses and
// guards every URL it is sent on its own).
const LAZY_GLOBALS = ["URL", "URLSearchParams"];
let urlState = null; // [URL, URLSearchParams] once loaded
function lazyAccessor(name) {
  return {
    __proto__: null,
    get() {
      loadUrl();
      return g[name];
    },
    set(value) {
      loadUrl();
      g[name] = value;
    },
    configurable: true,
    enumerable: false,
  };
}
function loadUrl() {
  if (urlState !== null) return;
  for (let i = 0; i < LAZY_GLOBALS.length; i++) delete g[LAZY_GLOBALS[i]];
  // core-js wraps a global fetch (and Request) to take URLSearchParams
  // bodies (ours already does) and replaces Function.prototype.toString to
  // make its functions look native: all are put back as they were.
  const kept = [[g, "fetch"], [g, "Request"], [FunctionPrototype, "toString"]];
  for (let i = 0; i < kept.length; i++) append(kept[i], ownDescriptor(kept[i][0], kept[i][1]));
  indirectEval(urlPolyfillSource());
  for (let i = 0; i < kept.length; i++) {
    if (kept[i][2] !== undefined) ObjectDefineProperty(kept[i][0], kept[i][1], kept[i][2]);
  }
  urlState = [g.URL, g.URLSearchParams];
}
for (let i = 0; i < LAZY_GLOBALS.length; i++) ObjectDefineProperty(g, LAZY_GLOBALS[i], lazyAccessor(LAZY_GLOBALS[i]));
