// Part 2: secutils' host APIs: Deno.core (deno_core's helpers and the ops
// table), secutils.kv and secutils.crypto, TextEncoder/TextDecoder, btoa/atob.

// --- SHA-256 (FIPS 180-4), synchronous: secutils.crypto.sha256 is a sync op.
const SHA256_K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const SHA256_H0 = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

function sha256(bytes) {
  const length = TypedArrayPrototypeGetLength(bytes);
  const bitLength = length * 8;
  const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
  TypedArrayPrototypeSet(padded, bytes);
  padded[length] = 0x80;
  const size = TypedArrayPrototypeGetLength(padded);
  const view = new DataView(TypedArrayPrototypeGetBuffer(padded));
  DataViewPrototypeSetUint32(view, size - 8, MathFloor(bitLength / 0x100000000));
  DataViewPrototypeSetUint32(view, size - 4, bitLength >>> 0);
  const h = new Uint32Array(8);
  TypedArrayPrototypeSet(h, SHA256_H0);
  const w = new Uint32Array(64);
  for (let off = 0; off < size; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = DataViewPrototypeGetUint32(view, off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], gg = h[6], hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & gg)) + SHA256_K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = gg; gg = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += gg; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(TypedArrayPrototypeGetBuffer(out));
  for (let i = 0; i < 8; i++) DataViewPrototypeSetUint32(outView, i * 4, h[i]);
  return out;
}

function hex(bytes) {
  let out = "";
  const length = TypedArrayPrototypeGetLength(bytes);
  for (let i = 0; i < length; i++) out += (bytes[i] < 16 ? "0" : "") + NumberPrototypeToString(bytes[i], 16);
  return out;
}

// Strict unpadded base64url, as secutils' base64ct decoder: no padding, no
// '+' or '/', no impossible length, no stray trailing bits.
function base64urlDecode(text) {
  const bad = () => new Error("invalid Base64 encoding");
  if (text.length % 4 === 1) throw bad();
  const out = new Uint8Array(MathFloor((text.length * 3) / 4));
  let bits = 0, value = 0, o = 0;
  for (let i = 0; i < text.length; i++) {
    const idx = StringPrototypeIndexOf(B64URL, text[i]);
    if (idx < 0) throw bad();
    value = ((value << 6) | idx) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 255;
    }
  }
  if (bits > 0 && (value & ((1 << bits) - 1)) !== 0) throw bad();
  return out;
}

// deno_core's string parameters turn anything that is not a string into "".
const str = (value) => (typeof value === "string" ? value : "");

// --- Deno.core ------------------------------------------------------------------
const tagOf = (v) => StringPrototypeSlice(ObjectPrototypeToString(v), 8, -1);
const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
const matches = (re, text) => RegExpPrototypeExec(re, text) !== null;
const unboxers = [Number, String, g.Boolean, BigInt, Symbol];
const isBoxed = nullArray();
for (let i = 0; i < unboxers.length; i++) append(isBoxed, brand(uncurryThis(unboxers[i].prototype.valueOf)));

const coreChecks = {
  isAnyArrayBuffer: (v) => isArrayBuffer(v) || isSharedArrayBuffer(v),
  isArgumentsObject: (v) => tagOf(v) === "Arguments",
  isArrayBuffer,
  isArrayBufferView: (v) => ArrayBufferIsView(v),
  isAsyncFunction: (v) => typeof v === "function" && matches(/^Async/, tagOf(v)),
  isBigIntObject: isBoxed[3],
  isBooleanObject: isBoxed[2],
  isBoxedPrimitive: (v) => {
    for (let i = 0; i < isBoxed.length; i++) if (isBoxed[i](v)) return true;
    return false;
  },
  isDataView: brand(DataViewPrototypeGetByteLength),
  isDate: brand(DatePrototypeGetTime),
  isGeneratorFunction: (v) => typeof v === "function" && matches(/GeneratorFunction$/, tagOf(v)),
  isGeneratorObject: (v) => tagOf(v) === "Generator" || tagOf(v) === "AsyncGenerator",
  isMap: brand(MapPrototypeGetSize),
  isMapIterator: (v) => tagOf(v) === "Map Iterator",
  isModuleNamespaceObject: (v) => tagOf(v) === "Module",
  isNativeError: (v) => v instanceof Error,
  isNumberObject: isBoxed[0],
  isPromise: (v) => v instanceof Promise,
  isProxy: () => false, // not observable from JavaScript
  isRegExp: brand(getter(RegExp.prototype, "source")),
  isSet: brand(SetPrototypeGetSize),
  isSetIterator: (v) => tagOf(v) === "Set Iterator",
  isSharedArrayBuffer,
  isStringObject: isBoxed[1],
  isSymbolObject: isBoxed[4],
  isTypedArray,
  isWeakMap: brand(uncurryThis(WeakMap.prototype.has)),
  isWeakSet: brand(uncurryThis(g.WeakSet.prototype.has)),
};

function requireView(value) {
  const bytes = ArrayBufferIsView(value) ? viewBytes(value) : null;
  if (bytes === null) throw new TypeError("Invalid argument");
  return bytes;
}

function byteLength(text) {
  if (typeof text !== "string") return 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = StringPrototypeCharCodeAt(text, i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length &&
      (StringPrototypeCharCodeAt(text, i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// Options objects go to the host as the script gave them; a missing one is
// an empty object that inherits nothing.
const optsOf = (opts) => opts ?? { __proto__: null };
const ops = ObjectFreeze({
  op_proxy_request: (request) => hostCall("proxy", proxyArgs(request), proxyBody(request)),
  op_responder_kv_get: (key) => hostCall("kv.get", { __proto__: null, key: str(key) }),
  op_responder_kv_set: (key, value, opts) =>
    hostCall("kv.set", { __proto__: null, key: str(key), value: str(value), opts: optsOf(opts) }),
  op_responder_kv_delete: (key) => hostCall("kv.delete", { __proto__: null, key: str(key) }),
  op_responder_kv_list: (opts) => hostCall("kv.list", optsOf(opts)),
  op_responder_kv_wait: (opts) => hostCall("kv.watch", optsOf(opts)),
  op_crypto_seal: (key, plaintext) =>
    hostCall("crypto.seal", { __proto__: null, key: str(key), plaintext: str(plaintext) }),
  op_crypto_sha256: (data) => {
    let bytes;
    try {
      bytes = base64urlDecode(str(data));
    } catch (error) {
      throw new Error("Invalid data (base64): " + error.message);
    }
    return hex(sha256(bytes));
  },
});

function proxyArgs(request) {
  if (request === null || typeof request !== "object") {
    throw new TypeError("op_proxy_request expects an object with a url");
  }
  const headers = { __proto__: null };
  const given = request.headers;
  if (given !== undefined && given !== null) {
    const names = ObjectKeys(given);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const value = given[name];
      if (value === undefined) continue;
      if (typeof value !== "string") {
        throw new TypeError("header '" + name + "' must be a string");
      }
      headers[name] = value;
    }
  }
  return {
    __proto__: null,
    url: request.url,
    method: request.method ?? "GET",
    headers,
    timeout: request.timeout ?? null,
    insecure: request.insecure === true,
    decompress: request.decompress !== false,
  };
}

function proxyBody(request) {
  const body = request && request.body;
  return body === undefined || body === null ? null : bytesArg(body, "body");
}

// deno_core's timers: (callback, delayMs, args, isRepeat, isRefed, isSystem).
function createTimer(callback, delay, args, isRepeat) {
  let id;
  const tick = () => {
    if (isRepeat) id = trackedSetTimeout(tick, delay);
    if (args === undefined) callback();
    else callback(args);
  };
  id = trackedSetTimeout(tick, delay);
  return () => trackedClearTimeout(id);
}

const Deno = ObjectFreeze({
  core: ObjectFreeze({
    ops,
    ...coreChecks,
    encode(text) {
      if (typeof text !== "string") throw new TypeError("Invalid argument");
      return utf8Encode(text);
    },
    decode: (view) => utf8Decode(withoutBom(requireView(view))),
    encodeBinaryString: (view) => bytesToBinary(requireView(view)),
    byteLength,
    createTimer,
    cancelTimer: (cancel) => typeof cancel === "function" && cancel(),
    queueUserTimer: (_depth, repeat, delay, callback) => createTimer(callback, delay, undefined, repeat),
    print: (message, isErr) => (isErr ? hookletConsole.error : hookletConsole.log)(String(message)),
    serialize: (value) => utf8Encode(JSONStringify(toTree(value, new Map()))),
    deserialize: (bytes) => fromTree(JSONParse(utf8Decode(requireView(bytes))), nullArray()),
    structuredClone: (value) => fromTree(toTree(value, new Map()), nullArray()),
  }),
});

// Deno.core.serialize's format here is hooklet's own (secutils uses V8's wire
// format): a tagged JSON tree. Only the round trip within a script matters.
const TYPED = { __proto__: null, Int8Array: g.Int8Array, Uint8Array, Uint8ClampedArray: g.Uint8ClampedArray,
  Int16Array: g.Int16Array, Uint16Array: g.Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array: g.BigInt64Array, BigUint64Array: g.BigUint64Array, DataView };
const tree = (key, value) => ({ __proto__: null, [key]: value });
function toTree(v, seen) {
  if (v === undefined) return tree("u", 1);
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return NumberIsFinite(v) && !ObjectIs(v, -0) ? v : tree("n", String(v));
  if (typeof v === "bigint") return tree("b", String(v));
  if (typeof v !== "object") throw new Error("DataCloneError: " + typeof v + " could not be cloned.");
  if (MapPrototypeHas(seen, v)) return tree("r", MapPrototypeGet(seen, v));
  MapPrototypeSet(seen, v, MapPrototypeGetSize(seen));
  if (coreChecks.isDate(v)) return tree("d", DatePrototypeGetTime(v));
  if (coreChecks.isRegExp(v)) return tree("x", [v.source, v.flags]);
  if (isArrayBuffer(v)) return tree("ab", base64urlEncode(new Uint8Array(v)));
  if (ArrayBufferIsView(v)) {
    const kind = isTypedArray(v) ? TypedArrayPrototypeGetSymbolToStringTag(v) : "DataView";
    return { __proto__: null, ta: kind, bytes: base64urlEncode(viewBytes(v)) };
  }
  const list = nullArray();
  if (coreChecks.isMap(v)) {
    MapPrototypeForEach(v, (x, k) => append(list, [toTree(k, seen), toTree(x, seen)]));
    return tree("m", list);
  }
  if (coreChecks.isSet(v)) {
    SetPrototypeForEach(v, (x) => append(list, toTree(x, seen)));
    return tree("s", list);
  }
  if (ArrayIsArray(v)) {
    for (let i = 0; i < v.length; i++) append(list, toTree(v[i], seen));
    return tree("a", list);
  }
  if (typeof v.then === "function" || typeof v === "function") throw new Error("DataCloneError: could not be cloned.");
  const o = { __proto__: null };
  const keys = ObjectKeys(v);
  for (let i = 0; i < keys.length; i++) o[keys[i]] = toTree(v[keys[i]], seen);
  return tree("o", o);
}
function fromTree(t, refs) {
  if (t === null || typeof t !== "object") return t;
  const has = (key) => ObjectHasOwn(t, key);
  if (has("u")) return undefined;
  if (has("n")) return Number(t.n);
  if (has("b")) return BigInt(t.b);
  if (has("r")) return refs[t.r];
  const keep = (value) => (append(refs, value), value);
  if (has("d")) return keep(new Date(t.d));
  if (has("x")) return keep(new RegExp(t.x[0], t.x[1]));
  if (has("ab")) return keep(TypedArrayPrototypeGetBuffer(base64urlDecode(t.ab)));
  if (has("ta")) {
    const buffer = TypedArrayPrototypeGetBuffer(base64urlDecode(t.bytes));
    return keep(new TYPED[t.ta](buffer));
  }
  if (has("m")) {
    const map = keep(new Map());
    for (let i = 0; i < t.m.length; i++) MapPrototypeSet(map, fromTree(t.m[i][0], refs), fromTree(t.m[i][1], refs));
    return map;
  }
  if (has("s")) {
    const set = keep(new Set());
    for (let i = 0; i < t.s.length; i++) SetPrototypeAdd(set, fromTree(t.s[i], refs));
    return set;
  }
  if (has("a")) {
    const array = keep([]);
    for (let i = 0; i < t.a.length; i++) ObjectDefineProperty(array, i, enumerableData(fromTree(t.a[i], refs)));
    return array;
  }
  const o = keep({});
  const keys = ObjectKeys(t.o);
  for (let i = 0; i < keys.length; i++) ObjectDefineProperty(o, keys[i], enumerableData(fromTree(t.o[keys[i]], refs)));
  return o;
}

const secutils = ObjectFreeze({
  kv: ObjectFreeze({
    get: async (key) => (await ops.op_responder_kv_get(key)).value,
    getEntry: (key) => ops.op_responder_kv_get(key),
    set: (key, value, opts) => ops.op_responder_kv_set(key, value, opts),
    delete: (key) => ops.op_responder_kv_delete(key),
    list: (opts) => ops.op_responder_kv_list(opts),
    watch: (opts) => ops.op_responder_kv_wait(opts),
  }),
  crypto: ObjectFreeze({
    // A promise here (secutils' is synchronous): sealing needs the host's
    // `cryptography`. secutils' own scripts `await` it.
    seal: (key, plaintext) => ops.op_crypto_seal(key, plaintext),
    sha256: (data) => ops.op_crypto_sha256(data),
  }),
});

// --- TextEncoder / TextDecoder / btoa / atob ----------------------------------------
class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(text = "") {
    return utf8Encode(text);
  }
}
class TextDecoder {
  get encoding() {
    return "utf-8";
  }
  decode(input) {
    if (input === undefined) return "";
    const bytes = viewBytes(input);
    if (bytes === null) throw new TypeError("TextDecoder.decode expects an ArrayBuffer or a view");
    return utf8Decode(withoutBom(bytes));
  }
}
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function btoa(binary) {
  const s = String(binary);
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = StringPrototypeCharCodeAt(s, i), b = StringPrototypeCharCodeAt(s, i + 1), c = StringPrototypeCharCodeAt(s, i + 2);
    if (a > 255 || b > 255 || c > 255) throw new Error("btoa: character out of range");
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63];
    out += i + 1 < s.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < s.length ? B64[n & 63] : "=";
  }
  return out;
}
const BASE64_SKIPPED = /[\s=]/;
function atob(encoded) {
  const s = String(encoded);
  let out = "";
  let bits = 0, value = 0;
  for (let i = 0; i < s.length; i++) {
    if (matches(BASE64_SKIPPED, s[i])) continue;
    const idx = StringPrototypeIndexOf(B64, s[i]);
    if (idx < 0) throw new Error("atob: invalid character");
    value = ((value << 6) | idx) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += StringFromCharCode((value >> bits) & 255);
    }
  }
  return out;
}

defineGlobal("Deno", Deno);
defineGlobal("secutils", secutils);
defineGlobal("TextEncoder", TextEncoder);
defineGlobal("TextDecoder", TextDecoder);
defineGlobal("btoa", btoa);
defineGlobal("atob", atob);
