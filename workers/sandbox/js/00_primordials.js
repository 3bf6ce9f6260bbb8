// Hooklet's script runtime, part 0: the builtins the runtime uses, captured
// when it is installed, before any script runs ("primordials", as Node and
// Deno keep for their internals). The files in this folder are joined, in
// name order, into ONE function (isolate.py): everything here is a closure
// binding, and nothing but the documented APIs is reachable from a script.
// The function returns `control`, which only the host holds.
//
// A script may change any global, prototype or well-known symbol it can
// reach; such changes persist into its own hook's later runs on the same
// warm isolate (as an isolate's globals do on Cloudflare Workers), and no
// other hook ever runs in that isolate. The runtime itself must not notice:
// its own code calls only what is captured here, never a method looked up on
// a value at call time. Rules that follow from that, for every file here:
// - call methods uncurried (`ArrayPrototypePush(list, x)`, not `list.push(x)`);
// - no `for...of`, spread, array destructuring or `Array.from` on data the
//   runtime reads or reports (each looks up Symbol.iterator); index loops;
// - objects and arrays the runtime reports or reads later have a null
//   prototype (`{ __proto__: null }`, `nullArray()`): no inherited setter,
//   getter or `toJSON` applies to them; property descriptors likewise;
// - promises the runtime chains on are `SafePromise`s, whose `constructor`
//   and species are frozen, and are chained with `PromisePrototypeThen`;
// - a bare global name is a closure binding below, never the global object's
//   current property.
"use strict";
const g = globalThis;
const FunctionPrototype = Function.prototype;
const uncurryThis = FunctionPrototype.bind.bind(FunctionPrototype.call);
const ReflectApply = Reflect.apply;
const ReflectOwnKeys = Reflect.ownKeys;

// Constructors and namespaces, pinned as closure bindings.
const Array = g.Array;
const ArrayBuffer = g.ArrayBuffer;
const BigInt = g.BigInt;
const DataView = g.DataView;
const Date = g.Date;
const Error = g.Error;
const Float32Array = g.Float32Array;
const Float64Array = g.Float64Array;
const Int32Array = g.Int32Array;
const Map = g.Map;
const Number = g.Number;
const Object = g.Object;
const Promise = g.Promise;
const RangeError = g.RangeError;
const RegExp = g.RegExp;
const Set = g.Set;
const String = g.String;
const Symbol = g.Symbol;
const SyntaxError = g.SyntaxError;
const TypeError = g.TypeError;
const Uint8Array = g.Uint8Array;
const Uint32Array = g.Uint32Array;
const WeakMap = g.WeakMap;
const SharedArrayBuffer = g.SharedArrayBuffer;
const TypedArray = Object.getPrototypeOf(Uint8Array);

const SymbolIterator = Symbol.iterator;
const SymbolSpecies = Symbol.species;
const SymbolToStringTag = Symbol.toStringTag;

const ObjectDefineProperty = Object.defineProperty;
const ObjectFreeze = Object.freeze;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectHasOwn = Object.hasOwn;
const ObjectIs = Object.is;
const ObjectIsExtensible = Object.isExtensible;
const ObjectKeys = Object.keys;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ObjectPrototype = Object.prototype;
const ObjectPrototypeToString = uncurryThis(ObjectPrototype.toString);

const ArrayIsArray = Array.isArray;
const ArrayPrototype = Array.prototype;
const ArrayPrototypeIncludes = uncurryThis(ArrayPrototype.includes);
const ArrayPrototypeJoin = uncurryThis(ArrayPrototype.join);
const ArrayPrototypeSort = uncurryThis(ArrayPrototype.sort);

const StringFromCharCode = String.fromCharCode;
const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
// `charCodesOf(text)(i)`: a function bound to one string, a third faster in
// a loop than the uncurried form.
const FunctionPrototypeBind = uncurryThis(FunctionPrototype.bind);
const StringPrototypeCharCodeAtMethod = String.prototype.charCodeAt;
const charCodesOf = (text) => FunctionPrototypeBind(StringPrototypeCharCodeAtMethod, text);
const StringPrototypeIncludes = uncurryThis(String.prototype.includes);
const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
const StringPrototypeSlice = uncurryThis(String.prototype.slice);
const StringPrototypeSplit = uncurryThis(String.prototype.split);
const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
const StringPrototypeToWellFormed = uncurryThis(String.prototype.toWellFormed);
const StringPrototypeTrim = uncurryThis(String.prototype.trim);
const NumberIsFinite = Number.isFinite;
const NumberIsInteger = Number.isInteger;
const NumberPrototypeToString = uncurryThis(Number.prototype.toString);
const MathFloor = Math.floor;
const MathMax = Math.max;
const MathTrunc = Math.trunc;
const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);
const JSONParse = JSON.parse;
const JSONStringify = JSON.stringify;

const getter = (proto, name) => uncurryThis(ObjectGetOwnPropertyDescriptor(proto, name).get);
const ArrayBufferIsView = ArrayBuffer.isView;
const ArrayBufferPrototypeGetByteLength = getter(ArrayBuffer.prototype, "byteLength");
const SharedArrayBufferPrototypeGetByteLength = getter(SharedArrayBuffer.prototype, "byteLength");
const TypedArrayPrototypeGetBuffer = getter(TypedArray.prototype, "buffer");
const TypedArrayPrototypeGetByteLength = getter(TypedArray.prototype, "byteLength");
const TypedArrayPrototypeGetByteOffset = getter(TypedArray.prototype, "byteOffset");
const TypedArrayPrototypeGetLength = getter(TypedArray.prototype, "length");
const TypedArrayPrototypeGetSymbolToStringTag = getter(TypedArray.prototype, SymbolToStringTag);
const TypedArrayPrototypeSet = uncurryThis(TypedArray.prototype.set);
const DataViewPrototypeGetBuffer = getter(DataView.prototype, "buffer");
const DataViewPrototypeGetByteLength = getter(DataView.prototype, "byteLength");
const DataViewPrototypeGetByteOffset = getter(DataView.prototype, "byteOffset");
const DataViewPrototypeGetUint32 = uncurryThis(DataView.prototype.getUint32);
const DataViewPrototypeSetUint32 = uncurryThis(DataView.prototype.setUint32);

const MapPrototypeDelete = uncurryThis(Map.prototype.delete);
const MapPrototypeForEach = uncurryThis(Map.prototype.forEach);
const MapPrototypeGet = uncurryThis(Map.prototype.get);
const MapPrototypeHas = uncurryThis(Map.prototype.has);
const MapPrototypeSet = uncurryThis(Map.prototype.set);
const MapPrototypeGetSize = getter(Map.prototype, "size");
const SetPrototypeAdd = uncurryThis(Set.prototype.add);
const SetPrototypeDelete = uncurryThis(Set.prototype.delete);
const SetPrototypeForEach = uncurryThis(Set.prototype.forEach);
const SetPrototypeGetSize = getter(Set.prototype, "size");
const WeakMapPrototypeGet = uncurryThis(WeakMap.prototype.get);
const WeakMapPrototypeSet = uncurryThis(WeakMap.prototype.set);

const PromisePrototype = Promise.prototype;
const PromisePrototypeThen = uncurryThis(PromisePrototype.then);
const AtomicsWaitAsync = Atomics.waitAsync;
const indirectEval = g.eval;
const unescape = g.unescape;
const encodeURIComponent = g.encodeURIComponent;

// A promise whose `then` reactions never consult what a script can change:
// `then` finds the species through `constructor` and Symbol.species, both
// frozen own properties here. Script-facing promises stay plain Promises.
class SafePromise extends Promise {}
ObjectDefineProperty(SafePromise, SymbolSpecies, { __proto__: null, value: SafePromise });
ObjectFreeze(SafePromise.prototype);
ObjectFreeze(SafePromise);
const SafePromiseResolve = (value) => new SafePromise((resolve) => resolve(value));

// An array with no prototype: writes to its indices never meet an inherited
// setter, and JSON.stringify finds no inherited `toJSON` on it.
function nullArray() {
  const out = [];
  ObjectSetPrototypeOf(out, null);
  return out;
}
function append(list, value) {
  list[list.length] = value;
}
// A value read from the host's JSON only if it is the object's own.
const own = (object, key) =>
  object !== null && typeof object === "object" && ObjectHasOwn(object, key) ? object[key] : undefined;
const dataProperty = (value) => ({ __proto__: null, value, writable: true, configurable: true, enumerable: false });
const enumerableData = (value) => ({ __proto__: null, value, writable: true, configurable: true, enumerable: true });
// A property's descriptor as an object that inherits nothing (an inherited
// `get` would turn a data descriptor into a broken accessor one).
const DESCRIPTOR_FIELDS = ["value", "get", "set", "writable", "enumerable", "configurable"];
function ownDescriptor(target, key) {
  const found = ObjectGetOwnPropertyDescriptor(target, key);
  if (found === undefined) return undefined;
  const out = { __proto__: null };
  for (let i = 0; i < DESCRIPTOR_FIELDS.length; i++) {
    const field = DESCRIPTOR_FIELDS[i];
    if (ObjectHasOwn(found, field)) out[field] = found[field];
  }
  return out;
}
function defineGlobal(name, value) {
  ObjectDefineProperty(g, name, dataProperty(value));
}
// Brand checks that read internal slots, never a script's Symbol.hasInstance.
function brand(check) {
  return (value) => {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) return false;
    try {
      check(value);
      return true;
    } catch (_) {
      return false;
    }
  };
}
const isArrayBuffer = brand(ArrayBufferPrototypeGetByteLength);
const isSharedArrayBuffer = brand(SharedArrayBufferPrototypeGetByteLength);
const isTypedArray = (value) => TypedArrayPrototypeGetSymbolToStringTag(value) !== undefined;
const SOURCE_URL = "\n//# sourceURL=hook.js";
