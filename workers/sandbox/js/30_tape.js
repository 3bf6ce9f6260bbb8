// Part 3b: the tape's clock, randomness and timers (issue 25). A run records
// the clock values the script read (Date.now, new Date(), Date(),
// performance.now, Intl.DateTimeFormat's format() of "now", Temporal.Now)
// and whether it used randomness; Math.random and
// crypto.getRandomValues/randomUUID both derive from the run's seed (the
// host's, so the host records it only when used). A replay (a draft tried on
// recorded events) reads the recorded clock values back in order, the last
// one again once they run out, and gets the recorded seed.
//
// Timers race the host's answers in a live run (which came first depends on
// the network); a run where a timer fired records the order in which its
// timers fired and its host calls were answered (31_tape_order.js). A replay
// runs timers on a virtual clock and holds the tape's answers back,
// releasing one event per turn of the host's loop in that order (answers
// first, then timers by due time, where the tape has no order or the draft
// made other calls).
const DateNow = Date.now;
const DatePrototypeToString = uncurryThis(Date.prototype.toString);
const ReflectConstruct = Reflect.construct;
const TAPE_CLOCK_MAX = 4096; // more reads than this: the run is not replayable

let tapeReplay = false;
let tapeClock = nullArray();
let tapeClockAt = 0;
let tapeClockOver = false;
let tapeRandomUsed = false;
let tapeOrder = nullArray(); // live: "c<call>" / "t<timer>" as they happened; replay: to follow
let tapeOrderAt = 0;
let tapeTimerFired = false;
let tapeOrderOver = false; // past TAPE_CLOCK_MAX events: matters only if the order is kept
let tapeTimedOut = false; // replay: the live run ran out of time after its last event
let callBase = 0; // the run's first host call id (ids run on across an isolate's runs)
let timerOrdinal = 0;
let heldReplies = new Map(); // replay: call ordinal -> the host's answer, not yet given
let virtualTimers = new Map(); // replay: timer id -> { ordinal, due, fn, args }
let virtualNow = 0;
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
  tapeOrder = nullArray();
  tapeOrderAt = 0;
  tapeTimerFired = false;
  tapeOrderOver = false;
  tapeTimedOut = tapeReplay && own(tape, "timedOut") === true;
  callBase = nextCallId;
  nextTimerId = 1; // a timer's id is the script's to see: the same in a replay
  timerOrdinal = 0;
  heldReplies = new Map();
  virtualTimers = new Map();
  virtualNow = 0;
  if (tapeReplay) {
    const order = own(tape, "order");
    if (ArrayIsArray(order)) for (let i = 0; i < order.length; i++) append(tapeOrder, String(order[i]));
    const clock = own(tape, "clock");
    tapeClock = nullArray();
    if (ArrayIsArray(clock)) for (let i = 0; i < clock.length; i++) append(tapeClock, +clock[i]);
    clockOrigin = +own(tape, "origin") || 0;
  } else {
    tapeClock = nullArray();
    clockOrigin = DateNow();
  }
}

// What the host stores (nothing when the script read neither clock nor
// randomness, nor used timers). `whole`: with the order of events even when
// no timer fired (the host asks for it when the run ran out of time waiting).
function tapeReport(whole) {
  if (tapeReplay) return undefined;
  if (!whole && !tapeRandomUsed && tapeClock.length === 0 && !tapeClockOver && !tapeTimerFired) {
    return undefined;
  }
  const ordered = tapeTimerFired || whole;
  const over = tapeClockOver || (ordered && tapeOrderOver);
  const report = { __proto__: null, clock: tapeClock, origin: clockOrigin, random: tapeRandomUsed, over };
  if (ordered) report.order = tapeOrder;
  return report;
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

// Intl.DateTimeFormat formats "now" when given no date: the taped clock's.
const DateTimeFormatPrototype = g.Intl.DateTimeFormat.prototype;
const DateTimeFormatFormat = ObjectGetOwnPropertyDescriptor(DateTimeFormatPrototype, "format").get;
const DateTimeFormatFormatToParts = DateTimeFormatPrototype.formatToParts;
const formatsOfNow = new WeakMap();
ObjectDefineProperty(DateTimeFormatPrototype, "format", {
  __proto__: null,
  configurable: true,
  enumerable: false,
  get: function format() {
    const bound = ReflectApply(DateTimeFormatFormat, this, []); // a TypeError for a foreign `this`
    let taped = WeakMapPrototypeGet(formatsOfNow, this);
    if (taped === undefined) {
      taped = (date) => bound(date === undefined ? clockNow() : date);
      WeakMapPrototypeSet(formatsOfNow, this, taped);
    }
    return taped;
  },
});
ObjectDefineProperty(DateTimeFormatPrototype, "formatToParts", dataProperty(function formatToParts(date) {
  return ReflectApply(DateTimeFormatFormatToParts, this, [date === undefined ? clockNow() : date]);
}));

// Temporal.Now reads V8's own clock too: its "now" is the taped clock's (to
// the millisecond, as Date.now's).
const Temporal = g.Temporal;
if (Temporal !== undefined) {
  const TemporalNow = Temporal.Now;
  const TemporalNowTimeZoneId = TemporalNow.timeZoneId;
  const Instant = Temporal.Instant;
  const InstantFromEpochMilliseconds = Instant.fromEpochMilliseconds;
  const InstantToZoned = uncurryThis(Instant.prototype.toZonedDateTimeISO);
  const ZonedPrototype = Temporal.ZonedDateTime.prototype;
  const ZonedToPlainDateTime = uncurryThis(ZonedPrototype.toPlainDateTime);
  const ZonedToPlainDate = uncurryThis(ZonedPrototype.toPlainDate);
  const ZonedToPlainTime = uncurryThis(ZonedPrototype.toPlainTime);
  const instantNow = () => ReflectApply(InstantFromEpochMilliseconds, Instant, [clockNow()]);
  const zonedNow = (zone) =>
    InstantToZoned(instantNow(), zone === undefined ? ReflectApply(TemporalNowTimeZoneId, TemporalNow, []) : zone);
  const nowMethods = {
    __proto__: null,
    instant: function instant() { return instantNow(); },
    zonedDateTimeISO: function zonedDateTimeISO(zone) { return zonedNow(zone); },
    plainDateTimeISO: function plainDateTimeISO(zone) { return ZonedToPlainDateTime(zonedNow(zone)); },
    plainDateISO: function plainDateISO(zone) { return ZonedToPlainDate(zonedNow(zone)); },
    plainTimeISO: function plainTimeISO(zone) { return ZonedToPlainTime(zonedNow(zone)); },
  };
  const names = ObjectKeys(nowMethods);
  for (let i = 0; i < names.length; i++) {
    ObjectDefineProperty(TemporalNow, names[i], dataProperty(nowMethods[names[i]]));
  }
}
