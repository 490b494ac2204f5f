// Byte helpers shared by the envelope, the directory, the replies and the
// network code: one copy of each, so every module encodes the same way.

/** The parts, one after the other, in a new Uint8Array. */
export function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Lower-case hex, two digits a byte (the form kids and digests are compared in). */
export function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
