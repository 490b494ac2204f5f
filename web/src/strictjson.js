// Strict JSON for what a partner writes to a requester (docs/replies-v1.md
// section 3.1): the same refusals as Python's haven.envelope.strictjson.
//
// JSON.parse silently keeps the last of two equal members and turns 1.0 into
// 1; Python keeps a float a float. A message that one side reads one way and
// the other another way could show a requester something its partner did not
// write, so this parser refuses, like Python: a duplicate member, a byte order
// mark, an integer beyond 2^53, and (since no member of a message is a
// fraction) any number with a fraction or an exponent. Everything else is
// RFC 8259 JSON. Errors say nothing of the text (it may be a message's text).

export class StrictJsonError extends Error {
  constructor() {
    super("not strict JSON");
    this.name = "StrictJsonError";
  }
}

const MAX_DEPTH = 32;
const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const INTEGER_RE = /-?(?:0|[1-9][0-9]*)/y;
const HEX4_RE = /^[0-9a-fA-F]{4}$/;

/** Parse UTF-8 bytes (fatal decoding, no byte order mark) as strict JSON. */
export function parseStrictJson(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    throw new StrictJsonError();
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new StrictJsonError();
  }
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new StrictJsonError();
  }
  let pos = 0;

  const fail = () => {
    throw new StrictJsonError();
  };
  const skip = () => {
    while (pos < text.length && WHITESPACE.has(text[pos])) pos += 1;
  };

  function string() {
    // pos is at the opening quote.
    pos += 1;
    let out = "";
    for (;;) {
      if (pos >= text.length) fail();
      const c = text[pos];
      if (c === '"') {
        pos += 1;
        return out;
      }
      if (c === "\\") {
        const e = text[pos + 1];
        if (e === "u") {
          const hex = text.slice(pos + 2, pos + 6);
          if (!HEX4_RE.test(hex)) fail();
          out += String.fromCharCode(Number.parseInt(hex, 16));
          pos += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          pos += 2;
        } else {
          fail();
        }
      } else if (c.charCodeAt(0) < 0x20) {
        // A raw control character inside a string is not JSON (Python refuses it too).
        fail();
      } else {
        out += c;
        pos += 1;
      }
    }
  }

  function number() {
    INTEGER_RE.lastIndex = pos;
    const match = INTEGER_RE.exec(text);
    if (match === null) fail();
    pos = INTEGER_RE.lastIndex;
    // A fraction or an exponent: no member of a message is one.
    if (pos < text.length && ".eE".includes(text[pos])) fail();
    const value = Number(match[0]);
    if (!Number.isSafeInteger(value)) fail();
    return value;
  }

  function literal(word, value) {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail();
  }

  function value(depth) {
    if (depth > MAX_DEPTH) fail();
    skip();
    const c = text[pos];
    if (c === "{") {
      pos += 1;
      const members = new Map();
      skip();
      if (text[pos] === "}") {
        pos += 1;
        return Object.create(null);
      }
      for (;;) {
        skip();
        if (text[pos] !== '"') fail();
        const key = string();
        if (members.has(key)) fail();
        skip();
        if (text[pos] !== ":") fail();
        pos += 1;
        members.set(key, value(depth + 1));
        skip();
        if (text[pos] === ",") {
          pos += 1;
        } else if (text[pos] === "}") {
          pos += 1;
          // Object.fromEntries would let a "__proto__" member set the prototype.
          const out = Object.create(null);
          for (const [k, v] of members) out[k] = v;
          return out;
        } else {
          fail();
        }
      }
    }
    if (c === "[") {
      pos += 1;
      const items = [];
      skip();
      if (text[pos] === "]") {
        pos += 1;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        skip();
        if (text[pos] === ",") {
          pos += 1;
        } else if (text[pos] === "]") {
          pos += 1;
          return items;
        } else {
          fail();
        }
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true", true);
    if (c === "f") return literal("false", false);
    if (c === "n") return literal("null", null);
    return number();
  }

  const result = value(0);
  skip();
  if (pos !== text.length) fail();
  return result;
}
