// Part 3 (URL): URL and URLSearchParams, installed as lazy globals.

// URL and URLSearchParams: core-js's implementation (vendor/), compiled the
// first time a script (or the runtime's Request) touches either. It costs
// ~4 ms per isolate, which every event of a "fresh" hook would otherwise
// pay. It is library code in the script's realm: compiled after a script
// replaced builtins, it uses them as it finds them (the host parses and
// guards every URL it is sent on its own).
const LAZY_GLOBALS = ["URL", "URLSearchParams"];
let urlState = null; // [URL, URLSearchParams] once loaded
function lazyAccessor(name) {
  return {
    __proto__: null,
    get() {
      loadUrl();
      return g[name];
    },
    set(value) {
      loadUrl();
      g[name] = value;
    },
    configurable: true,
    enumerable: false,
  };
}
function loadUrl() {
  if (urlState !== null) return;
  for (let i = 0; i < LAZY_GLOBALS.length; i++) delete g[LAZY_GLOBALS[i]];
  // core-js wraps a global fetch (and Request) to take URLSearchParams
  // bodies (ours already does) and replaces Function.prototype.toString to
  // make its functions look native: all are put back as they were.
  const kept = [[g, "fetch"], [g, "Request"], [FunctionPrototype, "toString"]];
  for (let i = 0; i < kept.length; i++) append(kept[i], ownDescriptor(kept[i][0], kept[i][1]));
  indirectEval(urlPolyfillSource());
  for (let i = 0; i < kept.length; i++) {
    if (kept[i][2] !== undefined) ObjectDefineProperty(kept[i][0], kept[i][1], kept[i][2]);
  }
  urlState = [g.URL, g.URLSearchParams];
}
for (let i = 0; i < LAZY_GLOBALS.length; i++) ObjectDefineProperty(g, LAZY_GLOBALS[i], lazyAccessor(LAZY_GLOBALS[i]));
