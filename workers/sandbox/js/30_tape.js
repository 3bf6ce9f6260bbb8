// Part 3b: the tape's clock and randomness (issue 25). A run records the
// clock values the script read (Date.now, new Date(), Date(),
// performance.now) and whether it used randomness; Math.random and
// crypto.getRandomValues/randomUUID both derive from the run's seed (the
// host's, so the host records it only when used). A replay (a draft tried on
// recorded events) reads the recorded clock values back in order, the last
// one again once they run out, and gets the recorded seed.
const DateNow = Date.now;
const DatePrototypeToString = uncurryThis(Date.prototype.toString);
const ReflectConstruct = Reflect.construct;
const TAPE_CLOCK_MAX = 4096; // more reads than this: the run is not replayable

let tapeReplay = false;
let tapeClock = nullArray();
let tapeClockAt = 0;
let tapeClockOver = false;
let tapeRandomUsed = false;
let clockOrigin = 0;
let mathState = null;
// Set while the runtime itself runs library code in the script's realm (the
// URL polyfill, compiled on first use: only on a fresh isolate): what that
// reads of the clock or Math.random is not the script's, and is not taped.
let tapeQuiet = false;
const MathRandomUntaped = Math.random;
const loadUrlUntaped = loadUrl;
loadUrl = function () {
  const was = tapeQuiet;
  tapeQuiet = true;
  try {
    loadUrlUntaped();
  } finally {
    tapeQuiet = was;
  }
};

function clockNow() {
  if (tapeQuiet) return DateNow();
  if (tapeReplay) {
    const n = tapeClock.length;
    if (n === 0) return clockOrigin;
    const value = tapeClock[tapeClockAt < n ? tapeClockAt : n - 1];
    tapeClockAt++;
    return value;
  }
  const value = DateNow();
  if (tapeClock.length < TAPE_CLOCK_MAX) append(tapeClock, value);
  else tapeClockOver = true;
  return value;
}

// Called by start() for every run: `tape` is absent (record) or the host's
// {replay: true, clock, origin}.
function tapeStart(tape) {
  tapeReplay = own(tape, "replay") === true;
  tapeClockAt = 0;
  tapeClockOver = false;
  tapeRandomUsed = false;
  mathState = null;
  if (tapeReplay) {
    const clock = own(tape, "clock");
    tapeClock = nullArray();
    if (ArrayIsArray(clock)) for (let i = 0; i < clock.length; i++) append(tapeClock, +clock[i]);
    clockOrigin = +own(tape, "origin") || 0;
  } else {
    tapeClock = nullArray();
    clockOrigin = DateNow();
  }
}

// What the host stores (nothing when the script read neither clock nor randomness).
function tapeReport() {
  if (tapeReplay || (!tapeRandomUsed && tapeClock.length === 0 && !tapeClockOver)) return undefined;
  return { __proto__: null, clock: tapeClock, origin: clockOrigin, random: tapeRandomUsed, over: tapeClockOver };
}

// Date, with the clock above for its "now" forms; otherwise the original.
function TapedDate(...args) {
  if (new.target === undefined) return DatePrototypeToString(new Date(clockNow()));
  if (args.length === 0) return ReflectConstruct(Date, [clockNow()], new.target);
  return ReflectConstruct(Date, args, new.target);
}
ObjectDefineProperty(TapedDate, "prototype", { __proto__: null, value: Date.prototype, writable: false });
ObjectDefineProperty(TapedDate, "length", { __proto__: null, value: 7, configurable: true });
ObjectDefineProperty(TapedDate, "name", { __proto__: null, value: "Date", configurable: true });
ObjectDefineProperty(TapedDate, "now", dataProperty(function now() { return clockNow(); }));
ObjectDefineProperty(TapedDate, "parse", dataProperty(Date.parse));
ObjectDefineProperty(TapedDate, "UTC", dataProperty(Date.UTC));
ObjectDefineProperty(Date.prototype, "constructor", dataProperty(TapedDate));
defineGlobal("Date", TapedDate);
defineGlobal("performance", ObjectFreeze({
  __proto__: null,
  now() { return clockNow() - clockOrigin; },
  get timeOrigin() { return clockOrigin; },
}));

// Math.random: sfc32 seeded from a hash of the run's seed (never the bytes
// crypto.getRandomValues hands out, so one cannot predict the other).
function mathSeed() {
  const block = new Uint8Array(36);
  TypedArrayPrototypeSet(block, randomSeed);
  block[32] = 255; block[33] = 255; block[34] = 255; block[35] = 254;
  const h = sha256(block);
  const word = (i) => ((h[i] << 24) | (h[i + 1] << 16) | (h[i + 2] << 8) | h[i + 3]) >>> 0;
  return new Uint32Array([word(0), word(4), word(8), word(12) | 1]);
}
function sfc32(s) {
  const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
  s[3] = (s[3] + 1) >>> 0;
  s[0] = s[1] ^ (s[1] >>> 9);
  s[1] = (s[2] + (s[2] << 3)) >>> 0;
  s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
  s[2] = (s[2] + t) >>> 0;
  return t;
}
ObjectDefineProperty(Math, "random", dataProperty(function random() {
  if (tapeQuiet) return MathRandomUntaped();
  tapeRandomUsed = true;
  if (mathState === null) {
    mathState = mathSeed();
    for (let i = 0; i < 12; i++) sfc32(mathState);
  }
  return ((sfc32(mathState) >>> 5) * 67108864 + (sfc32(mathState) >>> 6)) / 9007199254740992;
}));
