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

function sha256(bytes) {
  const bitLength = bytes.length * 8;
  const padded = new NativeUint8Array(((bytes.length + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, gg, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & gg)) + SHA256_K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = gg; gg = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += gg; h[7] += hh;
  }
  const out = new NativeUint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
  return out;
}

function hex(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}

// Strict unpadded base64url, as secutils' base64ct decoder: no padding, no
// '+' or '/', no impossible length, no stray trailing bits.
function base64urlDecode(text) {
  const bad = () => new NativeError("invalid Base64 encoding");
  if (text.length % 4 === 1) throw bad();
  const out = new NativeUint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0, value = 0, o = 0;
  for (let i = 0; i < text.length; i++) {
    const idx = B64URL.indexOf(text[i]);
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
const objectToString = Object.prototype.toString;
const tagOf = (v) => objectToString.call(v).slice(8, -1);
function brand(getter) {
  return (v) => {
    if (v === null || (typeof v !== "object" && typeof v !== "function")) return false;
    try {
      getter.call(v);
      return true;
    } catch (_) {
      return false;
    }
  };
}
const getterOf = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const TypedArray = Object.getPrototypeOf(Uint8Array);
const typedArrayTag = getterOf(TypedArray.prototype, Symbol.toStringTag);
const isBoxed = [Number, String, Boolean, BigInt, Symbol].map((T) => brand(T.prototype.valueOf));

const coreChecks = {
  isAnyArrayBuffer: (v) => v instanceof NativeArrayBuffer || tagOf(v) === "SharedArrayBuffer",
  isArgumentsObject: (v) => tagOf(v) === "Arguments",
  isArrayBuffer: brand(getterOf(ArrayBuffer.prototype, "byteLength")),
  isArrayBufferView: (v) => isView(v),
  isAsyncFunction: (v) => typeof v === "function" && /^Async/.test(tagOf(v)),
  isBigIntObject: isBoxed[3],
  isBooleanObject: isBoxed[2],
  isBoxedPrimitive: (v) => isBoxed.some((check) => check(v)),
  isDataView: brand(getterOf(DataView.prototype, "byteLength")),
  isDate: brand(Date.prototype.getTime),
  isGeneratorFunction: (v) => typeof v === "function" && /GeneratorFunction$/.test(tagOf(v)),
  isGeneratorObject: (v) => tagOf(v) === "Generator" || tagOf(v) === "AsyncGenerator",
  isMap: brand(getterOf(Map.prototype, "size")),
  isMapIterator: (v) => tagOf(v) === "Map Iterator",
  isModuleNamespaceObject: (v) => tagOf(v) === "Module",
  isNativeError: (v) => v instanceof NativeError,
  isNumberObject: isBoxed[0],
  isPromise: (v) => v instanceof NativePromise,
  isProxy: () => false, // not observable from JavaScript
  isRegExp: brand(getterOf(RegExp.prototype, "source")),
  isSet: brand(getterOf(Set.prototype, "size")),
  isSetIterator: (v) => tagOf(v) === "Set Iterator",
  isSharedArrayBuffer: (v) => tagOf(v) === "SharedArrayBuffer",
  isStringObject: isBoxed[1],
  isSymbolObject: isBoxed[4],
  isTypedArray: (v) => typedArrayTag.call(v) !== undefined,
  isWeakMap: brand(WeakMap.prototype.has),
  isWeakSet: brand(WeakSet.prototype.has),
};

function requireView(value) {
  if (!isView(value)) throw new NativeTypeError("Invalid argument");
  return viewBytes(value);
}

function byteLength(text) {
  if (typeof text !== "string") return 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const ops = freeze({
  op_proxy_request: (request) => hostCall("proxy", proxyArgs(request), proxyBody(request)),
  op_responder_kv_get: (key) => hostCall("kv.get", { key: str(key) }),
  op_responder_kv_set: (key, value, opts) =>
    hostCall("kv.set", { key: str(key), value: str(value), opts: opts ?? {} }),
  op_responder_kv_delete: (key) => hostCall("kv.delete", { key: str(key) }),
  op_responder_kv_list: (opts) => hostCall("kv.list", opts ?? {}),
  op_responder_kv_wait: (opts) => hostCall("kv.watch", opts ?? {}),
  op_crypto_seal: (key, plaintext) => hostCall("crypto.seal", { key: str(key), plaintext: str(plaintext) }),
  op_crypto_sha256: (data) => {
    let bytes;
    try {
      bytes = base64urlDecode(str(data));
    } catch (error) {
      throw new NativeError("Invalid data (base64): " + error.message);
    }
    return hex(sha256(bytes));
  },
});

function proxyArgs(request) {
  if (request === null || typeof request !== "object") {
    throw new NativeTypeError("op_proxy_request expects an object with a url");
  }
  const headers = {};
  if (request.headers !== undefined && request.headers !== null) {
    for (const name of objectKeys(request.headers)) {
      const value = request.headers[name];
      if (value === undefined) continue;
      if (typeof value !== "string") {
        throw new NativeTypeError("header '" + name + "' must be a string");
      }
      headers[name] = value;
    }
  }
  return {
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

const Deno = freeze({
  core: freeze({
    ops,
    ...coreChecks,
    encode(text) {
      if (typeof text !== "string") throw new NativeTypeError("Invalid argument");
      return utf8Encode(text);
    },
    decode(view) {
      let bytes = requireView(view);
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      return utf8Decode(bytes);
    },
    encodeBinaryString: (view) => bytesToBinary(requireView(view)),
    byteLength,
    // deno_core's timers: (callback, delayMs, args, isRepeat, isRefed, isSystem).
    createTimer(callback, delay, args, isRepeat) {
      let id;
      const tick = () => {
        if (isRepeat) id = trackedSetTimeout(tick, delay);
        callback(...(args === undefined ? [] : [args]));
      };
      id = trackedSetTimeout(tick, delay);
      return () => trackedClearTimeout(id);
    },
    cancelTimer: (cancel) => typeof cancel === "function" && cancel(),
    queueUserTimer: (_depth, repeat, delay, callback) => Deno.core.createTimer(callback, delay, undefined, repeat),
    print: (message, isErr) => (isErr ? hookletConsole.error : hookletConsole.log)(String(message)),
    serialize: (value) => utf8Encode(stringify(toTree(value, new NativeMap()))),
    deserialize: (bytes) => fromTree(parse(utf8Decode(requireView(bytes))), []),
    structuredClone: (value) => fromTree(toTree(value, new NativeMap()), []),
  }),
});

// Deno.core.serialize's format here is hooklet's own (secutils uses V8's wire
// format): a tagged JSON tree. Only the round trip within a script matters.
const TYPED = { Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView };
function toTree(v, seen) {
  if (v === undefined) return { u: 1 };
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0) ? v : { n: String(v) };
  if (typeof v === "bigint") return { b: String(v) };
  if (typeof v !== "object") throw new NativeError("DataCloneError: " + typeof v + " could not be cloned.");
  if (seen.has(v)) return { r: seen.get(v) };
  seen.set(v, seen.size);
  if (coreChecks.isDate(v)) return { d: v.getTime() };
  if (coreChecks.isRegExp(v)) return { x: [v.source, v.flags] };
  if (v instanceof NativeArrayBuffer) return { ab: base64urlEncode(new NativeUint8Array(v)) };
  if (isView(v)) return { ta: tagOf(v) === "DataView" ? "DataView" : typedArrayTag.call(v), bytes: base64urlEncode(viewBytes(v)) };
  if (coreChecks.isMap(v)) return { m: [...v].map(([k, x]) => [toTree(k, seen), toTree(x, seen)]) };
  if (coreChecks.isSet(v)) return { s: [...v].map((x) => toTree(x, seen)) };
  if (isArray(v)) return { a: v.map((x) => toTree(x, seen)) };
  if (typeof v.then === "function" || typeof v === "function") throw new NativeError("DataCloneError: could not be cloned.");
  const o = {};
  for (const k of objectKeys(v)) o[k] = toTree(v[k], seen);
  return { o };
}
function fromTree(t, refs) {
  if (t === null || typeof t !== "object") return t;
  if ("u" in t) return undefined;
  if ("n" in t) return Number(t.n);
  if ("b" in t) return BigInt(t.b);
  if ("r" in t) return refs[t.r];
  const keep = (value) => (refs.push(value), value);
  if ("d" in t) return keep(new Date(t.d));
  if ("x" in t) return keep(new RegExp(t.x[0], t.x[1]));
  if ("ab" in t) return keep(base64urlDecode(t.ab).buffer);
  if ("ta" in t) {
    const buffer = base64urlDecode(t.bytes).buffer;
    return keep(t.ta === "DataView" ? new DataView(buffer) : new TYPED[t.ta](buffer));
  }
  if ("m" in t) {
    const map = keep(new Map());
    for (const [k, x] of t.m) map.set(fromTree(k, refs), fromTree(x, refs));
    return map;
  }
  if ("s" in t) {
    const set = keep(new Set());
    for (const x of t.s) set.add(fromTree(x, refs));
    return set;
  }
  if ("a" in t) {
    const array = keep([]);
    for (const x of t.a) array.push(fromTree(x, refs));
    return array;
  }
  const o = keep({});
  for (const k of objectKeys(t.o)) o[k] = fromTree(t.o[k], refs);
  return o;
}

const secutils = freeze({
  kv: freeze({
    get: async (key) => (await ops.op_responder_kv_get(key)).value,
    getEntry: (key) => ops.op_responder_kv_get(key),
    set: (key, value, opts) => ops.op_responder_kv_set(key, value, opts ?? {}),
    delete: (key) => ops.op_responder_kv_delete(key),
    list: (opts) => ops.op_responder_kv_list(opts ?? {}),
    watch: (opts) => ops.op_responder_kv_wait(opts ?? {}),
  }),
  crypto: freeze({
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
    if (bytes === null) throw new NativeTypeError("TextDecoder.decode expects an ArrayBuffer or a view");
    return utf8Decode(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes);
  }
}
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function btoa(binary) {
  const s = String(binary);
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new NativeError("btoa: character out of range");
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63];
    out += i + 1 < s.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < s.length ? B64[n & 63] : "=";
  }
  return out;
}
function atob(encoded) {
  const s = String(encoded).replace(/[\s=]/g, "");
  let out = "";
  let bits = 0, value = 0;
  for (let i = 0; i < s.length; i++) {
    const idx = B64.indexOf(s[i]);
    if (idx < 0) throw new NativeError("atob: invalid character");
    value = ((value << 6) | idx) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += fromCharCode((value >> bits) & 255);
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
