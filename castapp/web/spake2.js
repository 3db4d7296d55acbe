// SPAKE2 over Ed25519, byte for byte as the Python `spake2` package (0.9) computes it, so a
// page and the castapp app pair over the same code. Plain BigInt arithmetic; WebCrypto for
// SHA-256 and HKDF. The package's choices, kept here exactly:
//  - the group: the Ed25519 curve, order L, points encoded as 32 bytes little-endian y with the
//    sign of x in the top bit; a received point must be on the curve, not the neutral element,
//    and in the order-L subgroup;
//  - M and N: HKDF-SHA256(seed "M"/"N", salt "", info "SPAKE2 arbitrary element", 48 bytes) as
//    a big-endian y mod p, the first y >= that which is on the curve (x even), times 8;
//  - the password scalar: HKDF-SHA256(password, salt "", info "SPAKE2 pw", 48 bytes), big
//    endian, mod L; the random scalar: 64 random bytes, big endian, mod L;
//  - messages: a side byte ("A" or "B") and the 32-byte element x*G + pw*M (side A) or
//    y*G + pw*N (side B); the side byte is not hashed;
//  - the key: SHA256(SHA256(pw) | SHA256(idA) | SHA256(idB) | X | Y | K).
"use strict";

const Q = 2n ** 255n - 19n;
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function mod(a, m = Q) {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function power(base, exp, m = Q) {
  let r = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

const inv = (x) => power(x, Q - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = power(2n, (Q - 1n) / 4n);

function xrecover(y) {
  const xx = mod((y * y - 1n) * inv(D * y * y + 1n));
  let x = power(xx, (Q + 3n) / 8n);
  if (mod(x * x - xx) !== 0n) x = (x * SQRT_M1) % Q;
  if (x % 2n !== 0n) x = Q - x;
  return x;
}

function onCurve(x, y) {
  return mod(-x * x + y * y - 1n - D * x * x * y * y) === 0n;
}

// ------------------------------------------------------------------ points (extended X, Y, Z, T)
const ZERO = Object.freeze([0n, 1n, 1n, 0n]);

function fromAffine(x, y) {
  return [mod(x), mod(y), 1n, mod(x * y)];
}

function isZero(p) {
  const [X, Y, Z] = p;
  return mod(X) === 0n && mod(Y) === mod(Z) && mod(Y) !== 0n;
}

// add-2008-hwcd-3 (unified: safe for any two points, equal or not)
function add(p1, p2) {
  const [X1, Y1, Z1, T1] = p1;
  const [X2, Y2, Z2, T2] = p2;
  const A = mod((Y1 - X1) * (Y2 - X2));
  const B = mod((Y1 + X1) * (Y2 + X2));
  const C = mod(T1 * 2n * D * T2);
  const DD = mod(Z1 * 2n * Z2);
  const E = mod(B - A);
  const F = mod(DD - C);
  const G = mod(DD + C);
  const H = mod(B + A);
  return [mod(E * F), mod(G * H), mod(F * G), mod(E * H)];
}

// dbl-2008-hwcd
function double(p) {
  const [X1, Y1, Z1] = p;
  const A = mod(X1 * X1);
  const B = mod(Y1 * Y1);
  const C = mod(2n * Z1 * Z1);
  const DD = mod(-A);
  const J = mod(X1 + Y1);
  const E = mod(J * J - A - B);
  const G = mod(DD + B);
  const F = mod(G - C);
  const H = mod(DD - B);
  return [mod(E * F), mod(G * H), mod(F * G), mod(E * H)];
}

function multiply(p, n) {
  if (n < 0n) throw new RangeError("negative scalar");
  let r = ZERO;
  for (let i = BigInt(n.toString(2).length) - 1n; i >= 0n; i--) {
    r = double(r);
    if ((n >> i) & 1n) r = add(r, p);
  }
  return r;
}

// A subgroup element times a scalar, modulo the group order (as the package's Element does).
function times(p, s) {
  return multiply(p, mod(s, L));
}

export function encodePoint(p) {
  const zi = inv(p[2]);
  const x = mod(p[0] * zi);
  let y = mod(p[1] * zi);
  if (x & 1n) y += 1n << 255n;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(y & 0xffn);
    y >>= 8n;
  }
  return out;
}

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function bigEndian(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

const ZERO_BYTES = encodePoint(ZERO);

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// A received element: on the curve, not the neutral element, in the order-L subgroup.
export function decodeElement(bytes) {
  if (bytes.length !== 32) throw new SpakeError("An element is 32 bytes.");
  if (sameBytes(bytes, ZERO_BYTES)) throw new SpakeError("The element is the neutral element.");
  const raw = littleEndian(bytes);
  const y = raw & ((1n << 255n) - 1n);
  let x = xrecover(y);
  if ((x & 1n) !== ((raw >> 255n) & 1n)) x = Q - x;
  if (!onCurve(x, y)) throw new SpakeError("The element is not on the curve.");
  const p = fromAffine(x, y);
  if (!isZero(multiply(p, L))) throw new SpakeError("The element is not in the right group.");
  return p;
}

// ------------------------------------------------------------------ hashing
const enc = new TextEncoder();

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

async function hkdf(ikm, info, length) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode(info) },
    key, length * 8);
  return new Uint8Array(bits);
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

const BASE = (() => {
  const y = mod(4n * inv(5n));
  return fromAffine(xrecover(y), y);
})();

export async function arbitraryElement(seed) {
  const y0 = bigEndian(await hkdf(seed, "SPAKE2 arbitrary element", 48)) % Q;
  for (let plus = 0n; ; plus++) {
    const y = (y0 + plus) % Q;
    const x = xrecover(y);
    if (!onCurve(x, y)) continue;
    const p8 = multiply(fromAffine(x, y), 8n);
    if (isZero(p8)) continue;
    return p8;
  }
}

export async function passwordScalar(pw) {
  return bigEndian(await hkdf(pw, "SPAKE2 pw", 48)) % L;
}

let params = null;
async function blinding() {
  if (!params) params = Promise.all([arbitraryElement(enc.encode("M")), arbitraryElement(enc.encode("N"))]);
  const [M, N] = await params;
  return { M, N };
}

export class SpakeError extends Error {}

const SIDE_A = 0x41;
const SIDE_B = 0x42;

// One side of one exchange: new Spake2("A" | "B", password, idA, idB), start() once,
// finish(their message) once. `entropy` (64 bytes) is for test vectors only.
export class Spake2 {
  constructor(side, password, idA, idB) {
    if (side !== "A" && side !== "B") throw new SpakeError("The side is A or B.");
    this.side = side;
    this.pw = password;
    this.idA = idA;
    this.idB = idB;
    this.started = false;
    this.finished = false;
  }

  async start(entropy) {
    if (this.started) throw new SpakeError("start() can only be called once");
    this.started = true;
    const random = entropy || crypto.getRandomValues(new Uint8Array(64));
    if (random.length !== 64) throw new SpakeError("64 bytes of entropy are needed.");
    const { M, N } = await blinding();
    this.pwScalar = await passwordScalar(this.pw);
    this.scalar = bigEndian(random) % L;
    this.mine = this.side === "A" ? M : N;
    this.theirs = this.side === "A" ? N : M;
    const element = add(times(BASE, this.scalar), times(this.mine, this.pwScalar));
    this.outbound = encodePoint(element);
    return concat(new Uint8Array([this.side === "A" ? SIDE_A : SIDE_B]), this.outbound);
  }

  async finish(message) {
    if (!this.started) throw new SpakeError("start() comes first");
    if (this.finished) throw new SpakeError("finish() can only be called once");
    this.finished = true;
    const side = message[0];
    if (side !== SIDE_A && side !== SIDE_B) throw new SpakeError("I don't know what side they're on");
    if (side === (this.side === "A" ? SIDE_A : SIDE_B)) throw new SpakeError("a message from my own side");
    const inbound = message.subarray(1);
    const element = decodeElement(inbound);
    if (sameBytes(encodePoint(element), this.outbound)) throw new SpakeError("our message reflected back");
    const k = times(add(element, times(this.theirs, L - this.pwScalar)), this.scalar);
    const [X, Y] = this.side === "A" ? [this.outbound, inbound] : [inbound, this.outbound];
    return sha256(concat(await sha256(this.pw), await sha256(this.idA), await sha256(this.idB),
      X, Y, encodePoint(k)));
  }
}
