// Part 4: running a script, reading its result as secutils does, checking
// that it left the builtins alone, and `control`: the host's only handle.

let outcome = null;
let outcomeBytes = null;
const DESERIALIZE = "Error deserializing script result";

function errorText(error) {
  if (error && typeof error === "object" && typeof error.stack === "string") {
    // Keep the script's own frames; drop the runtime's.
    const lines = String(error.stack).split("\n");
    const kept = [lines[0]];
    for (const line of lines.slice(1)) {
      if (line.includes("hook.js")) kept.push(line);
    }
    return kept.join("\n");
  }
  if (error instanceof NativeError) return String(error);
  return "Uncaught " + show(error);
}

function finish(meta, bytes) {
  outcome = meta;
  outcomeBytes = bytes;
}

function fail(error) {
  let text;
  try {
    text = errorText(error);
  } catch (_) {
    text = "Uncaught exception";
  }
  finish({ ok: false, error: String(text) }, null);
}

class ResultError extends NativeError {}
const invalid = (why) => new ResultError(DESERIALIZE + ": " + why);

// Rust's `f64 as u16`, as serde_v8 reads statusCode: truncate, saturate, NaN -> 0.
function statusOf(value) {
  let n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number") throw invalid("statusCode must be a number");
  n = n !== n || n <= 0 ? 0 : n >= 65535 ? 65535 : Math.trunc(n);
  // Final statuses only: a 1xx would desynchronise a keep-alive connection.
  if (n < 200 || n > 599) throw invalid("statusCode " + n + " is not a final HTTP status (200-599)");
  return n;
}

function headersOf(value) {
  const out = {};
  const entries = coreChecks.isMap(value) ? [...value] : objectKeys(value).map((k) => [k, value[k]]);
  for (const [name, raw] of entries) {
    if (raw === undefined) continue;
    if (typeof raw !== "string" && !coreChecks.isStringObject(raw)) {
      throw invalid("header '" + String(name) + "' must be a string");
    }
    const text = String(raw);
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(String(name)) || /[^\t\x20-\x7e\x80-\xff]/.test(text)) {
      throw invalid("invalid header '" + String(name) + "'");
    }
    out[String(name).toLowerCase()] = text;
  }
  return out;
}

// secutils' body conversion (normalize_response_body_in_place + serde_v8).
function setBody(meta, body) {
  if (typeof body === "string") {
    meta.text = body.toWellFormed();
    return null;
  }
  const view = viewBytes(body);
  if (view !== null) return view;
  if (isView(body) || body instanceof NativeSharedArrayBuffer) throw invalid("shared memory");
  if (isArray(body) && (body.length === 0 || typeof body[0] === "number")) return numbersToBytes(body);
  let text;
  try {
    text = stringify(body);
  } catch (error) {
    throw invalid(String(error && error.message));
  }
  if (typeof text !== "string") throw invalid("the body cannot be converted");
  meta.text = text;
  meta.json = true;
  return null;
}

function settle(value) {
  if (value === undefined || value === null) return finish({ ok: true }, null);
  if (value instanceof Response) value = responseResult(value);
  if (typeof value !== "object") {
    return fail(invalid("the script must return an object (or null), got " + typeof value));
  }
  const meta = { ok: true };
  let bytes = null;
  try {
    const status = value.statusCode;
    if (status !== undefined && status !== null) meta.statusCode = statusOf(status);
    const headers = value.headers;
    if (headers !== undefined && headers !== null) {
      if (typeof headers !== "object") throw invalid("headers must be an object");
      meta.headers = headersOf(headers);
    }
    const body = value.body;
    if (body !== undefined && body !== null) {
      bytes = setBody(meta, body);
      if (bytes !== null) meta.bytes = bytes.length;
    }
    meta.skipRequest = value.skipRequest === true;
    meta.trackResponse = value.trackResponse === true;
  } catch (error) {
    return fail(error);
  }
  finish(meta, bytes);
}

// --- realm integrity -------------------------------------------------------------
// A warm isolate is reused for the same hook's next event only if the script
// left the builtins alone: replacing JSON.parse, a Symbol.iterator or freezing
// Array.prototype must not leak into another job. Every builtin's own
// properties (string and symbol keys), prototype and extensibility are
// recorded now and compared after each run.
const ownKeys = Reflect.ownKeys;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const isExtensible = Object.isExtensible;
const objectIs = Object.is;
const getPrototypeOf = Object.getPrototypeOf;
g.console = hookletConsole;
// mini-racer's own timer bookkeeping (__timer_manager) changes on every timer.
const BUILTIN_NAMES = ownKeys(g).filter(
  (name) => typeof name !== "string" || (!name.startsWith("__") && !LAZY_GLOBALS.includes(name)),
);
const builtinValues = BUILTIN_NAMES.map((name) => g[name]);
const watched = [];
for (const value of builtinValues) {
  const isObject = typeof value === "function" || typeof value === "object";
  if (isObject && value !== null && value !== g && !watched.includes(value)) {
    watched.push(value);
    if (typeof value === "function" && value.prototype && !watched.includes(value.prototype)) {
      watched.push(value.prototype);
    }
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
  getPrototypeOf(new Map().entries()),
  getPrototypeOf(new Set().values()),
  getPrototypeOf(""[Symbol.iterator]()),
  getPrototypeOf(/x/[Symbol.matchAll]("")),
  g,
]) {
  if (!watched.includes(hidden)) watched.push(hidden);
}
// Flat tables: object index, key, and the value/getter/setter/flags it had.
const watchedKeys = [];
const expected = [];
const counts = [];
const protos = [];
const extensible = [];
function watch(target) {
  const index = counts.length;
  if (index >= watched.length) watched.push(target);
  const keys = ownKeys(target);
  for (const key of keys) {
    const d = getOwnPropertyDescriptor(target, key);
    watchedKeys.push(index, key);
    expected.push(d.value, d.get, d.set, (d.writable ? 1 : 0) | (d.configurable ? 2 : 0) | (d.enumerable ? 4 : 0));
  }
  counts.push(keys.length);
  protos.push(getPrototypeOf(target));
  extensible.push(isExtensible(target));
}
watched.forEach((target) => watch(target));
const GLOBAL_INDEX = watched.indexOf(g);

function lazyUntouched() {
  for (let i = 0; i < LAZY_GLOBALS.length; i++) {
    const d = getOwnPropertyDescriptor(g, LAZY_GLOBALS[i]);
    if (d === undefined) return false;
    if (urlState === null ? d.get !== lazyAccessors[i].get : !objectIs(d.value, urlState[i])) return false;
  }
  return true;
}

function untouched() {
  if (g.console !== hookletConsole || !lazyUntouched()) return false;
  for (let i = 0; i < BUILTIN_NAMES.length; i++) {
    if (!objectIs(g[BUILTIN_NAMES[i]], builtinValues[i])) return false;
  }
  for (let i = 0; i < watched.length; i++) {
    if (getPrototypeOf(watched[i]) !== protos[i] || isExtensible(watched[i]) !== extensible[i]) return false;
    // The global object gains the script's own globals (allowed); builtins do not.
    if (i !== GLOBAL_INDEX && ownKeys(watched[i]).length !== counts[i]) return false;
  }
  for (let k = 0, e = 0; k < watchedKeys.length; k += 2, e += 4) {
    const target = watched[watchedKeys[k]];
    const key = watchedKeys[k + 1];
    if (target === g && (key === "context" || key === "console" || LAZY_GLOBALS.includes(key) ||
      (typeof key === "string" && key.startsWith("__")))) continue;
    const d = getOwnPropertyDescriptor(target, key);
    if (
      d === undefined ||
      !objectIs(d.value, expected[e]) ||
      d.get !== expected[e + 1] ||
      d.set !== expected[e + 2] ||
      ((d.writable ? 1 : 0) | (d.configurable ? 2 : 0) | (d.enumerable ? 4 : 0)) !== expected[e + 3]
    ) {
      return false;
    }
  }
  return true;
}

// --- running a script ---------------------------------------------------------------
function start(job) {
  const context = job.context;
  const raw = context.body;
  const bytes = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  context.body = bytes;
  g.context = context;
  g.console = hookletConsole;
  logLimit = job.limits;
  logs = [];
  logBytes = 0;
  logsDropped = 0;
  outcome = null;
  outcomeBytes = null;
  callQueue = [];
  callBodies = new NativeMap();
  waiting = new NativeMap();
  randomSeed = binaryToBytes(job.seed);
  randomPool = new NativeUint8Array(0);
  randomUsed = 0;
  run(job.source);
}

function run(source) {
  // secutils' wrapping: the script is one expression, awaited once. Trailing
  // semicolons are dropped so `(...)();` stays an expression.
  const expression = source.trim().replace(/;+$/, "");
  let value;
  try {
    value = indirectEval("(async () => (await (" + expression + "\n)))()" + SOURCE_URL);
  } catch (error) {
    if (!(error instanceof NativeSyntaxError)) return fail(error);
    // Not one expression: a program (`const a = 1; ({...})`), or the older
    // secutils form, a function body that ends with `return`.
    try {
      value = indirectEval(source + SOURCE_URL);
    } catch (error2) {
      if (!(error2 instanceof NativeSyntaxError && error2.message === "Illegal return statement")) {
        return fail(error2);
      }
      try {
        value = indirectEval("(async function () {" + source + "\n})" + SOURCE_URL)();
      } catch (error3) {
        return fail(error3);
      }
    }
  }
  // Read `value.then` only inside a microtask, so a hostile thenable runs
  // under the host's cancelable evaluation rather than inside this call.
  promiseThen.call(
    promiseThen.call(NativePromise.resolve(), () => value),
    settle,
    fail,
  );
}

function take() {
  if (outcome !== null) {
    outcome.logs = logs;
    outcome.logsDropped = logsDropped;
    outcome.idle = pendingTimers.size === 0;
    outcome.pristine = untouched();
    return stringify(outcome);
  }
  if (callQueue.length > 0) {
    const calls = callQueue;
    callQueue = [];
    return stringify({ calls });
  }
  return null;
}

// Called by the host with "command:argument" as `this` (isolate.py, call).
function control() {
  const text = String(this);
  const colon = text.indexOf(":");
  const command = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? null : text.slice(colon + 1);
  switch (command) {
    case "start":
      return start(parse(arg));
    case "take":
      return take();
    case "bytes":
      return outcomeBytes;
    case "callBody": {
      const id = +arg;
      const body = callBodies.get(id);
      callBodies.delete(id);
      return body === undefined || body.length === 0 ? null : body.slice().buffer;
    }
    case "alloc":
      inbox = new NativeUint8Array(+arg);
      return inbox.buffer;
    case "deliver":
      return deliver(parse(arg));
    default:
      throw new NativeError("unknown command " + command);
  }
}
return control;
