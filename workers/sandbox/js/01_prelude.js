// Part 1: bytes, logs and the host bridge, written with the captured
// builtins of part 0 (00_primordials.js) only.

// --- bytes ------------------------------------------------------------------
function utf8Encode(text) {
  // encodeURIComponent is native and fast; toWellFormed turns lone surrogates
  // into U+FFFD first, as Rust's lossy conversion does.
  return binaryToBytes(unescape(encodeURIComponent(StringPrototypeToWellFormed(String(text)))));
}

function binaryToBytes(binary) {
  const out = new Uint8Array(binary.length);
  const at = charCodesOf(binary);
  for (let i = 0; i < binary.length; i++) out[i] = at(i);
  return out;
}

function bytesToBinary(bytes) {
  let out = "";
  const n = TypedArrayPrototypeGetLength(bytes);
  for (let i = 0; i < n; i++) out += StringFromCharCode(bytes[i]);
  return out;
}

function utf8Decode(bytes) {
  let out = "";
  let i = 0;
  const n = TypedArrayPrototypeGetLength(bytes);
  while (i < n) {
    const b = bytes[i++];
    let c = 0xfffd;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && i < n && (bytes[i] & 0xc0) === 0x80) {
      c = ((b & 31) << 6) | (bytes[i++] & 63);
    } else if (b >= 0xe0 && b < 0xf0 && i + 1 < n && (bytes[i] & 0xc0) === 0x80 &&
      (bytes[i + 1] & 0xc0) === 0x80) {
      c = ((b & 15) << 12) | ((bytes[i] & 63) << 6) | (bytes[i + 1] & 63);
      i += 2;
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    } else if (b >= 0xf0 && b < 0xf5 && i + 2 < n && (bytes[i] & 0xc0) === 0x80 &&
      (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
      c = ((b & 7) << 18) | ((bytes[i] & 63) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      i += 3;
      if (c < 0x10000 || c > 0x10ffff) c = 0xfffd;
    }
    if (c > 0xffff) {
      c -= 0x10000;
      out += StringFromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
    } else out += StringFromCharCode(c);
  }
  return out;
}

// Strips a UTF-8 byte order mark, as deno_core's decode does.
function withoutBom(bytes) {
  const n = TypedArrayPrototypeGetLength(bytes);
  if (n < 3 || bytes[0] !== 0xef || bytes[1] !== 0xbb || bytes[2] !== 0xbf) return bytes;
  return new Uint8Array(TypedArrayPrototypeGetBuffer(bytes), TypedArrayPrototypeGetByteOffset(bytes) + 3, n - 3);
}

// Any ArrayBuffer or view as a Uint8Array over the same bytes; else null
// (shared memory included). Slots are read, not a script's getters.
function viewBytes(value) {
  if (!ArrayBufferIsView(value)) return isArrayBuffer(value) ? new Uint8Array(value) : null;
  const typed = isTypedArray(value);
  const buffer = typed ? TypedArrayPrototypeGetBuffer(value) : DataViewPrototypeGetBuffer(value);
  if (!isArrayBuffer(buffer)) return null;
  const offset = typed ? TypedArrayPrototypeGetByteOffset(value) : DataViewPrototypeGetByteOffset(value);
  const length = typed ? TypedArrayPrototypeGetByteLength(value) : DataViewPrototypeGetByteLength(value);
  return new Uint8Array(buffer, offset, length);
}

// A copy of a Uint8Array's bytes in a new ArrayBuffer of their own.
function copyBytes(bytes) {
  const out = new Uint8Array(TypedArrayPrototypeGetLength(bytes));
  TypedArrayPrototypeSet(out, bytes);
  return out;
}

// Bytes a host call sends: a view, an ArrayBuffer, or an array of numbers
// (secutils' op_proxy_request takes a plain array: each element `as u8`).
function bytesArg(value, what) {
  const view = viewBytes(value);
  if (view !== null) return view;
  if (ArrayIsArray(value)) return numbersToBytes(value);
  if (typeof value === "string") return utf8Encode(value);
  throw new TypeError(what + " must be bytes (an array of numbers or a Uint8Array)");
}

// Rust's `f64 as u8`: truncate, saturate, NaN -> 0.
function numbersToBytes(array) {
  const out = new Uint8Array(array.length);
  for (let i = 0; i < array.length; i++) {
    const n = +array[i];
    out[i] = n !== n ? 0 : n <= 0 ? 0 : n >= 255 ? 255 : n;
  }
  return out;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function base64urlEncode(bytes) {
  let out = "";
  const length = TypedArrayPrototypeGetLength(bytes);
  for (let i = 0; i < length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
    if (i + 1 < length) out += B64URL[(n >> 6) & 63];
    if (i + 2 < length) out += B64URL[n & 63];
  }
  return out;
}

// --- console ----------------------------------------------------------------
let logLimit = { __proto__: null, lines: 100, bytes: 16384 };
let logs = nullArray();
let logBytes = 0;
let logsDropped = 0;

function show(value) {
  if (typeof value === "string") return value;
  try {
    const text = JSONStringify(value);
    return typeof text === "string" ? text : String(value);
  } catch (_) {
    try {
      return String(value);
    } catch (_2) {
      return ObjectPrototypeToString(value);
    }
  }
}

function logger(level) {
  return function (...args) {
    if (logs.length >= logLimit.lines || logBytes >= logLimit.bytes) {
      logsDropped++;
      return;
    }
    let message = "";
    for (let i = 0; i < args.length; i++) message += (i === 0 ? "" : " ") + show(args[i]);
    const room = logLimit.bytes - logBytes;
    if (message.length > room) {
      message = StringPrototypeSlice(message, 0, room);
      logsDropped++;
    }
    logBytes += message.length;
    append(logs, { __proto__: null, level, message });
  };
}

const hookletConsole = ObjectFreeze({
  log: logger("log"),
  info: logger("info"),
  warn: logger("warn"),
  error: logger("error"),
  debug: logger("debug"),
});

// --- the host bridge ----------------------------------------------------------
// A host call (fetch, KV, seal, ...) is queued here and answered with a
// promise. The host takes the queue between evaluations, runs each call in
// the worker child under the script's deadline, and settles the promise
// through `control("deliver", ...)`. Bytes travel in ArrayBuffers the host
// reads or fills directly, never as JS strings. `args` is built by the
// runtime as null-prototype objects, so what the host reads is what the
// script passed, whatever it changed in the realm.
let callQueue = nullArray(); // each call's JSON, written when it is made
let callBodies = new Map();
let waiting = new Map();
let nextCallId = 1;
let inbox = null; // bytes of the next delivery, written by the host

function hostCall(op, args, body) {
  // The executor's throw (args JSON cannot write, such as a BigInt) rejects.
  return new Promise((resolve, reject) => {
    const json = JSONStringify(args);
    const id = nextCallId++;
    const hasBody = body !== undefined && body !== null;
    MapPrototypeSet(waiting, id, { __proto__: null, resolve, reject });
    if (hasBody) MapPrototypeSet(callBodies, id, body);
    append(callQueue, '{"id":' + id + ',"op":' + JSONStringify(op) + ',"args":' +
      (json === undefined ? "null" : json) + ',"body":' + hasBody + "}");
  });
}

const ERROR_TYPES = { __proto__: null, TypeError, Error, RangeError };

function deliver(reply) {
  const id = own(reply, "id");
  const entry = MapPrototypeGet(waiting, id);
  if (entry === undefined) return;
  MapPrototypeDelete(waiting, id);
  const error = own(reply, "error");
  if (error !== undefined) {
    const Type = ERROR_TYPES[own(reply, "errorType")] || Error;
    entry.reject(new Type(error));
    return;
  }
  let value = own(reply, "value");
  const size = own(reply, "bytes");
  if (size !== undefined) {
    const bytes = size === 0 ? new Uint8Array(0) : inbox;
    inbox = null;
    if (value && typeof value === "object") {
      ObjectDefineProperty(value, "body", enumerableData(bytes));
    } else value = bytes;
  }
  entry.resolve(value);
}

// Random bytes for crypto.getRandomValues (synchronous, so it cannot be a
// host call): SHA-256 in counter mode over a 256-bit seed the host gives
// every run (sha256 is in 10_deno.js).
let randomSeed = new Uint8Array(32);
let randomCounter = 0;
let randomPool = new Uint8Array(0);
let randomUsed = 0;
function randomBytes(n) {
  tapeRandomUsed = true; // 30_tape.js: the run's seed goes on its tape
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (randomUsed >= TypedArrayPrototypeGetLength(randomPool)) {
      const block = new Uint8Array(36);
      TypedArrayPrototypeSet(block, randomSeed);
      const c = randomCounter++;
      block[32] = c >>> 24;
      block[33] = (c >>> 16) & 255;
      block[34] = (c >>> 8) & 255;
      block[35] = c & 255;
      randomPool = sha256(block);
      randomUsed = 0;
    }
    out[i] = randomPool[randomUsed++];
  }
  return out;
}

// --- timers -----------------------------------------------------------------------
// setTimeout on Atomics.waitAsync (as mini-racer's own, which looks its
// helpers up at call time), tracking pending timers so the host knows
// whether an isolate is idle. mini-racer declares setTimeout with `var`:
// writable, not configurable.
const pendingTimers = new Set();
let nextTimerId = 1;
function trackedSetTimeout(fn, delay, ...args) {
  const id = nextTimerId++;
  // mini-racer's message loop misses a wait of 0 ms.
  const ms = MathMax(1, Number(delay) || 0);
  const wait = AtomicsWaitAsync(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  SetPrototypeAdd(pendingTimers, id);
  const fire = () => {
    if (SetPrototypeDelete(pendingTimers, id) && typeof fn === "function") ReflectApply(fn, undefined, args);
  };
  let settled = wait.value;
  if (wait.async) ObjectSetPrototypeOf(settled, SafePromise.prototype);
  else settled = SafePromiseResolve(settled);
  PromisePrototypeThen(settled, fire);
  return id;
}
function trackedClearTimeout(id) {
  SetPrototypeDelete(pendingTimers, id);
}
g.setTimeout = trackedSetTimeout;
g.clearTimeout = trackedClearTimeout;
