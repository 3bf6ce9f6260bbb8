// Hooklet's script runtime, installed once in every isolate before user code.
// It captures the builtins it relies on first, so a script that replaces JSON,
// console or Promise cannot break how its own result is read back.
(function () {
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
  const NativeSyntaxError = SyntaxError;
  const NativeRangeError = RangeError;
  const NativeUint8Array = Uint8Array;
  const NativeArrayBuffer = ArrayBuffer;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const SOURCE_URL = "\n//# sourceURL=hook.js";

  let logLimit = { lines: 100, bytes: 16384 };
  let logs = [];
  let logBytes = 0;
  let logsDropped = 0;
  let outcome = null;
  let outcomeBytes = null;

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

  // --- small web APIs that secutils scripts commonly reach for ---------------
  function utf8Encode(text) {
    const str = String(text);
    const out = [];
    for (let i = 0; i < str.length; i++) {
      let c = str.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        const d = str.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else
        out.push(
          0xf0 | (c >> 18),
          0x80 | ((c >> 12) & 63),
          0x80 | ((c >> 6) & 63),
          0x80 | (c & 63),
        );
    }
    return new NativeUint8Array(out);
  }

  function utf8Decode(input) {
    const bytes = toBytes(input) || new NativeUint8Array(0);
    let out = "";
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i++];
      let c = 0xfffd;
      if (b < 0x80) c = b;
      else if (b >= 0xc2 && b < 0xe0 && i < bytes.length) c = ((b & 31) << 6) | (bytes[i++] & 63);
      else if (b >= 0xe0 && b < 0xf0 && i + 1 < bytes.length) {
        c = ((b & 15) << 12) | ((bytes[i] & 63) << 6) | (bytes[i + 1] & 63);
        i += 2;
      } else if (b >= 0xf0 && b < 0xf5 && i + 2 < bytes.length) {
        c = ((b & 7) << 18) | ((bytes[i] & 63) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
        i += 3;
      }
      if (c > 0xffff) {
        c -= 0x10000;
        out += fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
      } else out += fromCharCode(c);
    }
    return out;
  }

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
      return input === undefined ? "" : utf8Decode(input);
    }
  }
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function btoa(binary) {
    const s = String(binary);
    let out = "";
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) throw new Error("btoa: character out of range");
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
      if (idx < 0) throw new Error("atob: invalid character");
      value = (value << 6) | idx;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += fromCharCode((value >> bits) & 255);
      }
    }
    return out;
  }

  // Track pending timers so the host knows whether an isolate is idle.
  // mini-racer declares setTimeout with `var`: writable, not configurable.
  const nativeSetTimeout = g.setTimeout;
  const nativeClearTimeout = g.clearTimeout;
  const pendingTimers = new Set();
  g.setTimeout = function setTimeout(fn, delay, ...args) {
    const id = nativeSetTimeout(function () {
      pendingTimers.delete(id);
      if (typeof fn === "function") fn(...args);
    }, Math.max(1, Number(delay) || 0)); // mini-racer's timer breaks on a 0 ms delay
    pendingTimers.add(id);
    return id;
  };
  g.clearTimeout = function clearTimeout(id) {
    pendingTimers.delete(id);
    nativeClearTimeout(id);
  };
  // secutils runs on deno_core, and its documented scripts encode bodies with
  // Deno.core.encode; nothing else of Deno exists here.
  const Deno = freeze({ core: freeze({ encode: utf8Encode, decode: utf8Decode }) });
  for (const [name, value] of [
    ["Deno", Deno],
    ["TextEncoder", TextEncoder],
    ["TextDecoder", TextDecoder],
    ["btoa", btoa],
    ["atob", atob],
  ]) {
    defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // --- reading the script's result ----------------------------------------------
  function toBytes(value) {
    if (value instanceof NativeArrayBuffer) return new NativeUint8Array(value);
    if (isView(value)) return new NativeUint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (isArray(value) && value.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
      return NativeUint8Array.from(value);
    }
    return null;
  }

  function errorText(error) {
    if (error && typeof error === "object" && typeof error.stack === "string") {
      // Keep the script's own frames; drop the runtime's.
      const lines = error.stack.split("\n");
      const kept = [lines[0]];
      for (const line of lines.slice(1)) {
        if (line.includes("hook.js")) kept.push(line);
      }
      return kept.join("\n");
    }
    if (error instanceof Error) return String(error);
    return "Uncaught " + show(error);
  }

  function isMemoryError(error) {
    return (
      error instanceof NativeRangeError &&
      /Invalid (string|array|typed array) length|allocation failed|Maximum call stack/.test(
        String(error.message),
      )
    );
  }

  function finishOk(meta, bytes) {
    outcome = meta;
    outcomeBytes = bytes;
  }

  function fail(error) {
    finishOk({ ok: false, error: errorText(error), memory: isMemoryError(error) }, null);
  }

  function settle(value) {
    if (value === undefined || value === null) return finishOk({ ok: true }, null);
    if (typeof value !== "object" || isArray(value) || isView(value)) {
      return fail(
        new TypeError(
          "the script must return an object with statusCode, headers and/or body, got " +
            (isArray(value) ? "an array" : typeof value),
        ),
      );
    }
    const meta = { ok: true };
    if (value.statusCode !== undefined) {
      const code = value.statusCode;
      if (!Number.isInteger(code) || code < 100 || code > 599) {
        return fail(new TypeError("statusCode must be an integer between 100 and 599"));
      }
      meta.statusCode = code;
    }
    if (value.headers !== undefined && value.headers !== null) {
      if (typeof value.headers !== "object") return fail(new TypeError("headers must be an object"));
      meta.headers = {};
      for (const name of Object.keys(value.headers)) {
        meta.headers[String(name).toLowerCase()] = String(value.headers[name]);
      }
    }
    const body = value.body;
    let bytes = null;
    if (body !== undefined && body !== null) {
      if (typeof body === "string") meta.text = body;
      else if ((bytes = toBytes(body)) !== null) meta.bytes = bytes.length;
      else {
        meta.text = stringify(body);
        meta.json = true;
      }
    }
    finishOk(meta, bytes);
  }

  // --- realm integrity ------------------------------------------------------------
  // A warm isolate is reused for the same hook's next event only if the script
  // left the builtins alone: replacing JSON.parse or Object.prototype.toString
  // must not leak into another job. Record every builtin's own properties now
  // and compare after each run (a few microseconds).
  const getOwnPropertyNames = Object.getOwnPropertyNames;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  g.console = hookletConsole;
  // mini-racer's own timer bookkeeping (__timer_manager) changes on every timer.
  const BUILTIN_NAMES = getOwnPropertyNames(g).filter((name) => !name.startsWith("__"));
  const objectIs = Object.is;
  const getPrototypeOf = Object.getPrototypeOf;
  const builtinValues = BUILTIN_NAMES.map((name) => g[name]);
  const watched = [];
  for (const value of builtinValues) {
    const isObject = typeof value === "function" || typeof value === "object";
    if (isObject && value !== null && value !== g) {
      watched.push(value);
      if (typeof value === "function" && value.prototype) watched.push(value.prototype);
    }
  }
  // Intrinsics reachable without a global name.
  const arrayIterator = [][Symbol.iterator]();
  for (const hidden of [
    getPrototypeOf(Uint8Array),
    getPrototypeOf(Uint8Array.prototype),
    getPrototypeOf(async function () {}),
    getPrototypeOf(function* () {}),
    getPrototypeOf(function* () {}).prototype,
    getPrototypeOf(async function* () {}),
    getPrototypeOf(arrayIterator),
    getPrototypeOf(getPrototypeOf(arrayIterator)),
  ]) {
    if (!watched.includes(hidden)) watched.push(hidden);
  }
  // Flat tables: object index, key, and the value/getter/setter it had.
  const watchedKeys = [];
  const expected = [];
  const counts = watched.map((target, index) => {
    const names = getOwnPropertyNames(target);
    for (const key of names) {
      const d = getOwnPropertyDescriptor(target, key);
      watchedKeys.push(index, key);
      expected.push(d.value, d.get, d.set);
    }
    return names.length;
  });
  const protos = watched.map((target) => getPrototypeOf(target));

  function untouched() {
    if (g.console !== hookletConsole) return false;
    for (let i = 0; i < BUILTIN_NAMES.length; i++) {
      if (!objectIs(g[BUILTIN_NAMES[i]], builtinValues[i])) return false;
    }
    for (let i = 0; i < watched.length; i++) {
      if (getPrototypeOf(watched[i]) !== protos[i]) return false;
      if (getOwnPropertyNames(watched[i]).length !== counts[i]) return false;
    }
    for (let k = 0, e = 0; k < watchedKeys.length; k += 2, e += 3) {
      const d = getOwnPropertyDescriptor(watched[watchedKeys[k]], watchedKeys[k + 1]);
      if (
        d === undefined ||
        !objectIs(d.value, expected[e]) ||
        d.get !== expected[e + 1] ||
        d.set !== expected[e + 2]
      ) {
        return false;
      }
    }
    return true;
  }

  const hooklet = {
    begin(context, limits) {
      if (context.body !== undefined) {
        const raw = context.body;
        const bytes = new Array(raw.length);
        for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
        context.body = bytes;
      }
      g.context = context;
      g.console = hookletConsole;
      logLimit = limits;
      logs = [];
      logBytes = 0;
      logsDropped = 0;
      outcome = null;
      outcomeBytes = null;
    },
    run(source) {
      let value;
      try {
        value = indirectEval(source + SOURCE_URL);
      } catch (error) {
        if (!(error instanceof NativeSyntaxError && error.message === "Illegal return statement")) {
          return fail(error);
        }
        // The older secutils form: a function body that ends with `return`.
        try {
          value = indirectEval("(async function () {" + source + "\n})" + SOURCE_URL)();
        } catch (error2) {
          return fail(error2);
        }
      }
      // Read `value.then` only inside a microtask, so a hostile thenable runs
      // under the host's cancelable eval rather than inside this call.
      promiseThen.call(
        promiseThen.call(NativePromise.resolve(), () => value),
        settle,
        fail,
      );
    },
    take() {
      if (outcome === null) return null;
      outcome.logs = logs;
      outcome.logsDropped = logsDropped;
      outcome.idle = pendingTimers.size === 0;
      outcome.pristine = untouched();
      return stringify(outcome);
    },
    takeBytes() {
      return outcomeBytes;
    },
  };
  defineProperty(g, "__hooklet", { value: freeze(hooklet), writable: false, configurable: false });
})();
