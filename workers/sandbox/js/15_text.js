// Part 2 (text): the Web's text codecs as secutils' runtime has them:
// TextEncoder/TextDecoder (UTF-8 only) and btoa/atob.

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
    if (input === undefined) return "";
    const bytes = viewBytes(input);
    if (bytes === null) throw new TypeError("TextDecoder.decode expects an ArrayBuffer or a view");
    return utf8Decode(withoutBom(bytes));
  }
}
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function btoa(binary) {
  const s = String(binary);
  let out = "";
  for (let i = 0; i < s.length; i += 3) {
    const a = StringPrototypeCharCodeAt(s, i), b = StringPrototypeCharCodeAt(s, i + 1), c = StringPrototypeCharCodeAt(s, i + 2);
    if (a > 255 || b > 255 || c > 255) throw new Error("btoa: character out of range");
    const n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63];
    out += i + 1 < s.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < s.length ? B64[n & 63] : "=";
  }
  return out;
}
const BASE64_SKIPPED = /[\s=]/;
function atob(encoded) {
  const s = String(encoded);
  let out = "";
  let bits = 0, value = 0;
  for (let i = 0; i < s.length; i++) {
    if (matches(BASE64_SKIPPED, s[i])) continue;
    const idx = StringPrototypeIndexOf(B64, s[i]);
    if (idx < 0) throw new Error("atob: invalid character");
    value = ((value << 6) | idx) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += StringFromCharCode((value >> bits) & 255);
    }
  }
  return out;
}

defineGlobal("TextEncoder", TextEncoder);
defineGlobal("TextDecoder", TextDecoder);
defineGlobal("btoa", btoa);
defineGlobal("atob", atob);
