// Part 3: the Web-standard APIs Cloudflare Workers users expect: Headers,
// Request, Response and fetch; crypto is 25_crypto.js and URL/URLSearchParams
// 27_url.js (the vendored core-js polyfill, compiled on first use). What a
// script passes in is read as the Web's specs read it (its own iterables and
// getters included); what the runtime keeps or sends is read through
// private fields and captured builtins.

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

defineGlobal("Headers", Headers);
defineGlobal("Request", Request);
defineGlobal("Response", Response);
defineGlobal("fetch", fetch);
