// Part 3 (crypto): the Web Crypto API Cloudflare Workers users expect:
// crypto.getRandomValues, randomUUID and subtle (digest, HMAC keys, sign
// and verify), read and written through captured builtins.

const HASHES = { __proto__: null, "SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };
function hashName(algorithm) {
  const given = typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm;
  const name = StringPrototypeToUpperCase(String(given));
  if (HASHES[name] === undefined) throw new Error("NotSupportedError: unsupported hash " + name);
  return name;
}

let cryptoKeyParts;
class CryptoKey {
  #raw;
  #hash;
  #usages;
  constructor(raw, hash, extractable, usages) {
    this.#raw = raw;
    this.#hash = hash;
    this.#usages = usages;
    const algorithm = ObjectFreeze({ name: "HMAC", hash: ObjectFreeze({ name: hash }), length: raw.length * 8 });
    const copy = [];
    for (let i = 0; i < usages.length; i++) ObjectDefineProperty(copy, i, enumerableData(usages[i]));
    ObjectDefineProperty(this, "type", enumerableData("secret"));
    ObjectDefineProperty(this, "extractable", enumerableData(extractable));
    ObjectDefineProperty(this, "algorithm", enumerableData(algorithm));
    ObjectDefineProperty(this, "usages", enumerableData(ObjectFreeze(copy)));
    ObjectFreeze(this);
  }
  static {
    cryptoKeyParts = (key, usage) => {
      if (key === null || typeof key !== "object" || !(#raw in key)) throw new TypeError("key must be a CryptoKey");
      if (usage !== undefined && !ArrayPrototypeIncludes(key.#usages, usage)) {
        throw new Error("InvalidAccessError: key usages do not include " + usage);
      }
      return { __proto__: null, raw: key.#raw, hash: key.#hash, extractable: key.extractable === true };
    };
  }
}

function hmac(key, data, usage) {
  const { raw, hash } = cryptoKeyParts(key, usage);
  const bytes = bytesArg(data, "data");
  const size = TypedArrayPrototypeGetLength(raw);
  const body = new Uint8Array(size + TypedArrayPrototypeGetLength(bytes));
  TypedArrayPrototypeSet(body, raw);
  TypedArrayPrototypeSet(body, bytes, size);
  return hostCall("crypto.hmac", { __proto__: null, hash, keyLength: size }, body);
}

function stringList(value) {
  const out = nullArray();
  if (value === undefined || value === null) return out;
  for (let i = 0; i < value.length; i++) append(out, String(value[i]));
  return out;
}

const subtle = ObjectFreeze({
  digest: async (algorithm, data) =>
    TypedArrayPrototypeGetBuffer(await hostCall("crypto.digest", { __proto__: null, hash: hashName(algorithm) }, bytesArg(data, "data"))),
  importKey: async (format, keyData, algorithm, extractable, usages) => {
    if (format !== "raw") throw new Error("NotSupportedError: only the 'raw' format is supported");
    if (!algorithm || StringPrototypeToUpperCase(String(algorithm.name)) !== "HMAC") {
      throw new Error("NotSupportedError: only HMAC keys are supported");
    }
    const raw = copyBytes(bytesArg(keyData, "keyData"));
    if (TypedArrayPrototypeGetLength(raw) === 0) throw new Error("DataError: the key is empty");
    return new CryptoKey(raw, hashName(algorithm.hash ?? "SHA-256"), extractable === true, stringList(usages));
  },
  exportKey: async (format, key) => {
    const parts = cryptoKeyParts(key);
    if (format !== "raw" || !parts.extractable) throw new Error("InvalidAccessError: key is not extractable");
    return TypedArrayPrototypeGetBuffer(copyBytes(parts.raw));
  },
  sign: async (_algorithm, key, data) => TypedArrayPrototypeGetBuffer(await hmac(key, data, "sign")),
  verify: async (_algorithm, key, signature, data) => {
    const expected = await hmac(key, data, "verify");
    const given = bytesArg(signature, "signature");
    const size = TypedArrayPrototypeGetLength(expected);
    let diff = TypedArrayPrototypeGetLength(given) ^ size;
    for (let i = 0; i < size; i++) diff |= expected[i] ^ (given[i] | 0);
    return diff === 0;
  },
});

const RANDOM_TYPES = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array"];
const crypto = ObjectFreeze({
  subtle,
  getRandomValues(array) {
    if (!ArrayPrototypeIncludes(RANDOM_TYPES, TypedArrayPrototypeGetSymbolToStringTag(array))) {
      throw new TypeError("getRandomValues expects an integer typed array");
    }
    const view = viewBytes(array);
    if (view === null) throw new TypeError("getRandomValues expects an unshared typed array");
    const size = TypedArrayPrototypeGetLength(view);
    if (size > 65536) throw new Error("QuotaExceededError: over 65536 bytes");
    TypedArrayPrototypeSet(view, randomBytes(size));
    return array;
  },
  randomUUID() {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = hex(b);
    const part = (from, to) => StringPrototypeSlice(h, from, to);
    return part(0, 8) + "-" + part(8, 12) + "-" + part(12, 16) + "-" + part(16, 20) + "-" + part(20);
  },
});

defineGlobal("crypto", crypto);
defineGlobal("CryptoKey", CryptoKey);
