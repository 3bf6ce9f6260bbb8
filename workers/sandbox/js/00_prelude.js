// Hooklet's script runtime, part 1: captured builtins, bytes, logs and the
// host bridge. The files in this folder are joined, in name order, into ONE
// function (isolate.py, _runtime_source): everything here is a closure, and
// nothing but the documented APIs is reachable from a script. The function
// returns `control`, which only the host holds.
"use strict";
const g = globalThis;
const indirectEval = g.eval;
const stringify = JSON.stringify;
const parse = JSON.parse;
const isArray = Array.isArray;
const isView = ArrayBuffer.isView;
const fromCharCode = String.fromCharCode;
const NativePromise = Promise;
const promiseThen = Promise.prototype.then;
const NativeError = Error;
const NativeTypeError = TypeError;
const NativeSyntaxError = SyntaxError;
const NativeUint8Array = Uint8Array;
const NativeArrayBuffer = ArrayBuffer;
const NativeSharedArrayBuffer = g.SharedArrayBuffer;
const NativeMap = Map;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const objectKeys = Object.keys;
const nativeUnescape = unescape;
const nativeEncodeURIComponent = encodeURIComponent;
const SOURCE_URL = "\n//# sourceURL=hook.js";

function defineGlobal(name, value) {
  defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
}

// --- bytes ------------------------------------------------------------------
function utf8Encode(text) {
  // encodeURIComponent is native and fast; toWellFormed turns lone surrogates
  // into U+FFFD first, as Rust's lossy conversion does.
  const binary = nativeUnescape(nativeEncodeURIComponent(String(text).toWellFormed()));
  return binaryToBytes(binary);
}

function binaryToBytes(binary) {
  const out = new NativeUint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function bytesToBinary(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return out;
}

function utf8Decode(bytes) {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i++];
    let c = 0xfffd;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && i < bytes.length && (bytes[i] & 0xc0) === 0x80) {
      c = ((b & 31) << 6) | (bytes[i++] & 63);
    } else if (b >= 0xe0 && b < 0xf0 && i + 1 < bytes.length && (bytes[i] & 0xc0) === 0x80 &&
      (bytes[i + 1] & 0xc0) === 0x80) {
      c = ((b & 15) << 12) | ((bytes[i] & 63) << 6) | (bytes[i + 1] & 63);
      i += 2;
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    } else if (b >= 0xf0 && b < 0xf5 && i + 2 < bytes.length && (bytes[i] & 0xc0) === 0x80 &&
      (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
      c = ((b & 7) << 18) | ((bytes[i] & 63) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      i += 3;
      if (c < 0x10000 || c > 0x10ffff) c = 0xfffd;
    }
    if (c > 0xffff) {
      c -= 0x10000;
      out += fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
    } else out += fromCharCode(c);
  }
  return out;
}

// Any ArrayBuffer or view as a Uint8Array over the same bytes; else null.
function viewBytes(value) {
  if (value instanceof NativeArrayBuffer) return new NativeUint8Array(value);
  if (isView(value)) {
    if (NativeSharedArrayBuffer && value.buffer instanceof NativeSharedArrayBuffer) return null;
    return new NativeUint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return null;
}

// Bytes a host call sends: a view, an ArrayBuffer, or an array of numbers
// (secutils' op_proxy_request takes a plain array: each element `as u8`).
function bytesArg(value, what) {
  const view = viewBytes(value);
  if (view !== null) return view;
  if (isArray(value)) return numbersToBytes(value);
  if (typeof value === "string") return utf8Encode(value);
  throw new NativeTypeError(what + " must be bytes (an array of numbers or a Uint8Array)");
}

// Rust's `f64 as u8`: truncate, saturate, NaN -> 0.
function numbersToBytes(array) {
  const out = new NativeUint8Array(array.length);
  for (let i = 0; i < array.length; i++) {
    const n = +array[i];
    out[i] = n !== n ? 0 : n <= 0 ? 0 : n >= 255 ? 255 : n;
  }
  return out;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function base64urlEncode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
    if (i + 1 < bytes.length) out += B64URL[(n >> 6) & 63];
    if (i + 2 < bytes.length) out += B64URL[n & 63];
  }
  return out;
}

// --- console ----------------------------------------------------------------
let logLimit = { lines: 100, bytes: 16384 };
let logs = [];
let logBytes = 0;
let logsDropped = 0;

function show(value) {
  if (typeof value === "string") return value;
  try {
    const text = stringify(value);
    return text === undefined ? String(value) : text;
  } catch (_) {
    return String(value);
  }
}

function logger(level) {
  return function (...args) {
    if (logs.length >= logLimit.lines || logBytes >= logLimit.bytes) {
      logsDropped++;
      return;
    }
    let message = args.map(show).join(" ");
    const room = logLimit.bytes - logBytes;
    if (message.length > room) {
      message = message.slice(0, room);
      logsDropped++;
    }
    logBytes += message.length;
    logs.push({ level, message });
  };
}

const hookletConsole = freeze({
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
// reads or fills directly, never as JS strings.
let callQueue = [];
let callBodies = new NativeMap();
let waiting = new NativeMap();
let nextCallId = 1;
let inbox = null; // bytes of the next delivery, written by the host

function hostCall(op, args, body) {
  return new NativePromise((resolve, reject) => {
    const id = nextCallId++;
    waiting.set(id, { resolve, reject });
    if (body !== undefined && body !== null) callBodies.set(id, body);
    callQueue.push({ id, op, args, body: body !== undefined && body !== null });
  });
}

const ERROR_TYPES = { TypeError: NativeTypeError, Error: NativeError, RangeError };

function deliver(reply) {
  const entry = waiting.get(reply.id);
  if (entry === undefined) return;
  waiting.delete(reply.id);
  if (reply.error !== undefined) {
    const Type = ERROR_TYPES[reply.errorType] || NativeError;
    entry.reject(new Type(reply.error));
    return;
  }
  let value = reply.value;
  if (reply.bytes !== undefined) {
    const bytes = reply.bytes === 0 ? new NativeUint8Array(0) : inbox;
    inbox = null;
    if (value && typeof value === "object") value.body = bytes;
    else value = bytes;
  }
  entry.resolve(value);
}

// Random bytes for crypto.getRandomValues (synchronous, so it cannot be a
// host call): SHA-256 in counter mode over a 256-bit seed the host gives
// every run (sha256 is in 10_deno.js).
let randomSeed = new NativeUint8Array(32);
let randomCounter = 0;
let randomPool = new NativeUint8Array(0);
let randomUsed = 0;
function randomBytes(n) {
  const out = new NativeUint8Array(n);
  for (let i = 0; i < n; i++) {
    if (randomUsed >= randomPool.length) {
      const block = new NativeUint8Array(36);
      block.set(randomSeed);
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
// Track pending timers so the host knows whether an isolate is idle.
// mini-racer declares setTimeout with `var`: writable, not configurable.
const nativeSetTimeout = g.setTimeout;
const nativeClearTimeout = g.clearTimeout;
const pendingTimers = new Set();
function trackedSetTimeout(fn, delay, ...args) {
  const id = nativeSetTimeout(function () {
    pendingTimers.delete(id);
    if (typeof fn === "function") fn(...args);
  }, Math.max(1, Number(delay) || 0)); // mini-racer's timer breaks on a 0 ms delay
  pendingTimers.add(id);
  return id;
}
function trackedClearTimeout(id) {
  pendingTimers.delete(id);
  nativeClearTimeout(id);
}
g.setTimeout = trackedSetTimeout;
g.clearTimeout = trackedClearTimeout;
