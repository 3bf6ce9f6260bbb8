// Part 4: running a script, reading its result as secutils does, and
// `control`: the host's only handle. Nothing here checks what a script
// changed in the realm: the runtime reads and reports only through the
// builtins captured in part 0, so such changes stay the script's own.

let outcome = null;
let outcomeBytes = null;
const DESERIALIZE = "Error deserializing script result";
const SyntaxErrorPrototype = SyntaxError.prototype;
const isSyntaxError = (error) =>
  error !== null && typeof error === "object" && ObjectGetPrototypeOf(error) === SyntaxErrorPrototype;

// The script's frames of a stack (those in hook.js), below its first line.
function scriptFrames(stack) {
  let out = "";
  let from = 0;
  let first = true;
  while (from <= stack.length) {
    let end = StringPrototypeIndexOf(stack, "\n", from);
    if (end < 0) end = stack.length;
    const line = StringPrototypeSlice(stack, from, end);
    if (first || StringPrototypeIncludes(line, "hook.js")) out += (first ? "" : "\n") + line;
    first = false;
    from = end + 1;
  }
  return out;
}

function errorText(error) {
  if (error !== null && typeof error === "object") {
    const stack = error.stack;
    if (typeof stack === "string") return scriptFrames(stack);
    if (error instanceof Error) return String(error);
  }
  return "Uncaught " + show(error);
}

function finish(meta, bytes) {
  outcome = meta;
  outcomeBytes = bytes;
}

function fail(error) {
  let text;
  try {
    text = String(errorText(error));
  } catch (_) {
    text = "Uncaught exception";
  }
  finish({ __proto__: null, ok: false, error: text }, null);
}

class ResultError extends Error {}
const invalid = (why) => new ResultError(DESERIALIZE + ": " + why);

// Rust's `f64 as u16`, as serde_v8 reads statusCode: truncate, saturate, NaN -> 0.
function statusOf(value) {
  let n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number") throw invalid("statusCode must be a number");
  n = n !== n || n <= 0 ? 0 : n >= 65535 ? 65535 : MathTrunc(n);
  // Final statuses only: a 1xx would desynchronise a keep-alive connection.
  if (n < 200 || n > 599) throw invalid("statusCode " + n + " is not a final HTTP status (200-599)");
  return n;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NOT_FIELD_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
function headersOf(value) {
  const out = { __proto__: null };
  const add = (name, raw) => {
    if (raw === undefined) return;
    if (typeof raw !== "string" && !coreChecks.isStringObject(raw)) {
      throw invalid("header '" + String(name) + "' must be a string");
    }
    const text = String(raw);
    const key = String(name);
    if (RegExpPrototypeExec(TOKEN, key) === null || RegExpPrototypeExec(NOT_FIELD_TEXT, text) !== null) {
      throw invalid("invalid header '" + key + "'");
    }
    out[StringPrototypeToLowerCase(key)] = text;
  };
  if (coreChecks.isMap(value)) {
    MapPrototypeForEach(value, (raw, name) => add(name, raw));
  } else {
    const names = ObjectKeys(value);
    for (let i = 0; i < names.length; i++) add(names[i], value[names[i]]);
  }
  return out;
}

// secutils' body conversion (normalize_response_body_in_place + serde_v8).
// Bytes are copied: what the host reads is what the script returned.
function setBody(meta, body) {
  if (typeof body === "string") {
    meta.text = StringPrototypeToWellFormed(body);
    return null;
  }
  const view = viewBytes(body);
  if (view !== null) return copyBytes(view);
  if (ArrayBufferIsView(body) || isSharedArrayBuffer(body)) throw invalid("shared memory");
  if (ArrayIsArray(body) && (body.length === 0 || typeof body[0] === "number")) return numbersToBytes(body);
  let text;
  try {
    text = JSONStringify(body);
  } catch (error) {
    throw invalid(String(error && error.message));
  }
  if (typeof text !== "string") throw invalid("the body cannot be converted");
  meta.text = text;
  meta.json = true;
  return null;
}

function settle(value) {
  if (value === undefined || value === null) return finish({ __proto__: null, ok: true }, null);
  if (isResponse(value)) value = responseResult(value);
  if (typeof value !== "object") {
    return fail(invalid("the script must return an object (or null), got " + typeof value));
  }
  const meta = { __proto__: null, ok: true };
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
      if (bytes !== null) meta.bytes = TypedArrayPrototypeGetLength(bytes);
    }
    meta.skipRequest = value.skipRequest === true;
    meta.trackResponse = value.trackResponse === true;
  } catch (error) {
    return fail(error);
  }
  finish(meta, bytes);
}

// --- running a script ---------------------------------------------------------------
// Each run gets a context of its own, parsed from the host's JSON (parsing
// defines properties; it meets no setter), and the console, reset.
function start(job) {
  const context = own(job, "context");
  ObjectDefineProperty(context, "body", enumerableData(bodyArray(own(context, "body"))));
  // Throws if a run of this hook made them unwritable (a frozen globalThis):
  // the host then retires this isolate.
  ObjectDefineProperty(g, "context", enumerableData(context));
  defineGlobal("console", hookletConsole);
  const limits = own(job, "limits");
  logLimit = { __proto__: null, lines: +own(limits, "lines"), bytes: +own(limits, "bytes") };
  logs = nullArray();
  logBytes = 0;
  logsDropped = 0;
  outcome = null;
  outcomeBytes = null;
  callQueue = nullArray();
  callBodies = new Map();
  waiting = new Map();
  randomSeed = binaryToBytes(own(job, "seed"));
  randomPool = new Uint8Array(0);
  randomUsed = 0;
  randomCounter = 0;
  tapeStart(own(job, "tape"));
  run(String(own(job, "source")));
}

// The request body (a latin-1 string from the host) as secutils' array of
// byte values. Writes to a fresh array's elements meet an inherited index
// setter if a run of this hook planted one; then the array is filled while
// it has no prototype (2.5 times the cost, so only then).
function bodyArray(raw) {
  const bytes = new Array(raw.length);
  if (raw.length === 0) return bytes;
  const detached = inheritsElements();
  if (detached) ObjectSetPrototypeOf(bytes, null);
  const byteAt = charCodesOf(raw);
  for (let i = 0; i < raw.length; i++) bytes[i] = byteAt(i);
  if (detached) ObjectSetPrototypeOf(bytes, ArrayPrototype);
  return bytes;
}
// Integer keys come first in an ordinary object's own keys.
function firstKeyIsIndex(target) {
  const keys = ReflectOwnKeys(target);
  if (keys.length === 0 || typeof keys[0] !== "string") return false;
  const n = +keys[0];
  return n >>> 0 === n && String(n) === keys[0];
}
function inheritsElements() {
  return ObjectGetPrototypeOf(ArrayPrototype) !== ObjectPrototype ||
    firstKeyIsIndex(ArrayPrototype) || firstKeyIsIndex(ObjectPrototype);
}

function withoutTrailingSemicolons(text) {
  let end = text.length;
  while (end > 0 && text[end - 1] === ";") end--;
  return StringPrototypeSlice(text, 0, end);
}

function run(source) {
  // secutils' wrapping: the script is one expression, awaited once. Trailing
  // semicolons are dropped so `(...)();` stays an expression.
  const expression = withoutTrailingSemicolons(StringPrototypeTrim(source));
  let wrapped;
  try {
    wrapped = indirectEval("(async () => (await (" + expression + "\n)))()" + SOURCE_URL);
  } catch (error) {
    if (!isSyntaxError(error)) return fail(error);
    // Not one expression: a program (`const a = 1; ({...})`), or the older
    // secutils form, a function body that ends with `return`.
    let value;
    try {
      value = indirectEval(source + SOURCE_URL);
    } catch (error2) {
      if (!(isSyntaxError(error2) && own(error2, "message") === "Illegal return statement")) {
        return fail(error2);
      }
      try {
        wrapped = indirectEval("(async function () {" + source + "\n})" + SOURCE_URL)();
      } catch (error3) {
        return fail(error3);
      }
    }
    if (wrapped === undefined) return settleLater(value);
  }
  // The async wrapper's own promise, made safe, so that settling it reads
  // neither the script's Promise.prototype.then nor its constructor. (An
  // expression that closes the wrapper's parentheses can hand back anything.)
  if (wrapped !== null && typeof wrapped === "object" && ObjectGetPrototypeOf(wrapped) === PromisePrototype) {
    ObjectSetPrototypeOf(wrapped, SafePromise.prototype);
    try {
      PromisePrototypeThen(wrapped, settle, fail);
      return;
    } catch (_) {
      ObjectSetPrototypeOf(wrapped, PromisePrototype); // not a promise after all
    }
  }
  settleLater(wrapped);
}

// A value that may be anything, a hostile thenable included: its `then` is
// read only inside a microtask, under the host's cancelable evaluation
// rather than inside this call.
function settleLater(value) {
  PromisePrototypeThen(PromisePrototypeThen(SafePromiseResolve(undefined), () => value), settle, fail);
}

// Whether the next run can define `context` and `console` again (a script
// may have made them, or the whole global object, unconfigurable).
function restartable() {
  for (let i = 0; i < RESET_GLOBALS.length; i++) {
    const found = ObjectGetOwnPropertyDescriptor(g, RESET_GLOBALS[i]);
    if (found === undefined ? !ObjectIsExtensible(g) : found.configurable !== true) return false;
  }
  return true;
}
const RESET_GLOBALS = ["context", "console"];

function take() {
  if (outcome !== null) {
    outcome.logs = logs;
    outcome.logsDropped = logsDropped;
    outcome.idle = SetPrototypeGetSize(pendingTimers) === 0;
    outcome.restartable = restartable();
    const tape = tapeReport();
    if (tape !== undefined) outcome.tape = tape;
    return JSONStringify(outcome);
  }
  if (callQueue.length > 0) {
    const calls = callQueue;
    callQueue = nullArray();
    return '{"calls":[' + ArrayPrototypeJoin(calls, ",") + "]}";
  }
  // A replay's next answer or timer (30_tape.js); its promise jobs run
  // before the host takes again.
  if (tapeReplay) {
    const turn = tapePump();
    if (turn === TAPE_TIMED_OUT) return '{"timedOut":true}';
    if (turn) return '{"calls":[]}';
  }
  return null;
}

// Called by the host with "command:argument" as `this` (isolate.py, call).
function control() {
  const text = typeof this === "string" ? this : "";
  const colon = StringPrototypeIndexOf(text, ":");
  const command = colon < 0 ? text : StringPrototypeSlice(text, 0, colon);
  const arg = colon < 0 ? null : StringPrototypeSlice(text, colon + 1);
  switch (command) {
    case "start":
      return start(JSONParse(arg));
    case "take":
      return take();
    case "tape": // what a run that ran out of time had read (30_tape.js)
      return JSONStringify(tapeReport(true));
    case "bytes":
      return outcomeBytes === null ? null : TypedArrayPrototypeGetBuffer(outcomeBytes);
    case "callBody": {
      const id = +arg;
      const body = MapPrototypeGet(callBodies, id);
      MapPrototypeDelete(callBodies, id);
      if (body === undefined || TypedArrayPrototypeGetLength(body) === 0) return null;
      return TypedArrayPrototypeGetBuffer(copyBytes(body));
    }
    case "alloc":
      inbox = new Uint8Array(+arg);
      return TypedArrayPrototypeGetBuffer(inbox);
    case "deliver":
      return deliver(JSONParse(arg));
    default:
      throw new Error("unknown command " + command);
  }
}
return control;
