// Part 3c: timers and host call answers, in the order they happened (issue
// 25; the state is 30_tape.js's). Live, every answer delivered and every
// timer fired is marked; a replay runs timers on a virtual clock and holds
// the tape's answers back, and take() (90_control.js) releases one event
// per turn of the host's loop in the recorded order.
function tapeMark(event) {
  if (tapeQuiet || tapeReplay) return;
  if (tapeOrder.length < TAPE_CLOCK_MAX) append(tapeOrder, event);
  else tapeOrderOver = true;
}

function tapedSetTimeout(fn, delay, ...args) {
  const ordinal = timerOrdinal++;
  if (!tapeReplay) {
    const fire = typeof fn === "function"
      ? function () {
        tapeTimerFired = true;
        tapeMark("t" + ordinal);
        ReflectApply(fn, undefined, args);
      }
      : fn;
    return trackedSetTimeout(fire, delay);
  }
  const id = nextTimerId++;
  const due = virtualNow + MathMax(1, Number(delay) || 0);
  MapPrototypeSet(virtualTimers, id, { __proto__: null, ordinal, due, fn, args });
  return id;
}
function tapedClearTimeout(id) {
  if (tapeReplay) MapPrototypeDelete(virtualTimers, id);
  else trackedClearTimeout(id);
}
g.setTimeout = tapedSetTimeout;
g.clearTimeout = tapedClearTimeout;

const settleCall = deliver;
deliver = function (reply) {
  const id = own(reply, "id");
  if (!tapeReplay) {
    if (MapPrototypeHas(waiting, id)) tapeMark("c" + (id - callBase));
    settleCall(reply);
  } else if (MapPrototypeHas(waiting, id)) {
    // The reply's bytes are in `inbox` until the host's next alloc.
    MapPrototypeSet(heldReplies, id - callBase, { __proto__: null, reply, bytes: inbox });
    inbox = null;
  }
};

// Replay: release the next event (an answer or a timer); false when none is
// waiting, TAPE_TIMED_OUT where the live run ran out of time. Called by take()
// between the host's evaluations, so the script's promise jobs run after
// each event as they did live.
const TAPE_TIMED_OUT = "timedOut";
function tapePump() {
  if (tapeTimedOut && tapeOrderAt >= tapeOrder.length) return TAPE_TIMED_OUT;
  if (tapeOrderAt < tapeOrder.length) {
    const next = tapeOrder[tapeOrderAt];
    const ordinal = +StringPrototypeSlice(next, 1);
    if (next[0] === "c" && MapPrototypeHas(heldReplies, ordinal)) {
      tapeOrderAt++;
      return releaseReply(ordinal);
    }
    if (next[0] === "t") {
      const id = timerByOrdinal(ordinal);
      if (id !== undefined) {
        tapeOrderAt++;
        return fireTimer(id);
      }
    }
  }
  let first;
  MapPrototypeForEach(heldReplies, (_, ordinal) => {
    if (first === undefined || ordinal < first) first = ordinal;
  });
  if (first !== undefined) return releaseReply(first);
  let soonest;
  let soonestTimer;
  MapPrototypeForEach(virtualTimers, (timer, id) => {
    if (soonestTimer === undefined || timer.due < soonestTimer.due ||
      (timer.due === soonestTimer.due && timer.ordinal < soonestTimer.ordinal)) {
      soonest = id;
      soonestTimer = timer;
    }
  });
  if (soonest !== undefined) return fireTimer(soonest);
  // Nothing can come any more: where the live run ran out of time, so does this.
  return tapeTimedOut ? TAPE_TIMED_OUT : false;
}
function releaseReply(ordinal) {
  const held = MapPrototypeGet(heldReplies, ordinal);
  MapPrototypeDelete(heldReplies, ordinal);
  inbox = held.bytes;
  settleCall(held.reply);
  return true;
}
function timerByOrdinal(ordinal) {
  let found;
  MapPrototypeForEach(virtualTimers, (timer, id) => {
    if (timer.ordinal === ordinal) found = id;
  });
  return found;
}
function fireTimer(id) {
  const timer = MapPrototypeGet(virtualTimers, id);
  MapPrototypeDelete(virtualTimers, id);
  if (timer.due > virtualNow) virtualNow = timer.due;
  try {
    if (typeof timer.fn === "function") ReflectApply(timer.fn, undefined, timer.args);
  } catch (_) {
    // as live: a timer's uncaught error ends nothing but its callback
  }
  return true;
}
