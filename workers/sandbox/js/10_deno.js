// Part 2: secutils' host APIs: Deno.core (deno_core's helpers and the ops
// table), secutils.kv and secutils.crypto. SHA-256 and the byte encodings
// they use are 05_digest.js; TextEncoder/TextDecoder, btoa/atob 15_text.js.

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

// deno_core's timers: (callback, delayMs, args, isRepeat, isRefed, isSystem),
// setTimeout's as the tape records and replays them (30_tape.js).
function createTimer(callback, delay, args, isRepeat) {
  let id;
  const tick = () => {
    if (isRepeat) id = tapedSetTimeout(tick, delay);
    if (args === undefined) callback();
    else callback(args);
  };
  id = tapedSetTimeout(tick, delay);
  return () => tapedClearTimeout(id);
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

defineGlobal("Deno", Deno);
defineGlobal("secutils", secutils);
