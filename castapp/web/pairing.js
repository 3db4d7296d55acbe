// Pairing over the cast code, as castapp.pairing does it in the app (docs/security.md):
// SPAKE2 (the sender is side A, the receiver side B, both peer ids bound in), then a key
// confirmation by HMAC-SHA256 over both DTLS fingerprints and both peer ids; every remote SDP
// is checked against the confirmed fingerprint before it is applied.
// One Pairing is one attempt: after any failure every further call throws.
"use strict";
import { Spake2, concat, sha256 } from "/web/spake2.js";

const enc = new TextEncoder();
const CONTEXT = "castapp pake v1\0";
const CONFIRM = "castapp confirm v1\0";
const KEY_LABEL = "castapp pairing key\0";
const FINGERPRINT = /^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/gm;
const SEPARATORS = /[ \t\r\n\-_.\u00a0\u3000]/g;

export const TAMPERED_WORDS = "The connection was tampered with — not casting.";
export const FAILED_WORDS = "The code did not match; check the code on the TV and try again.";

export class PairingError extends Error {}
export class PairingFailedError extends PairingError {
  constructor() { super(FAILED_WORDS); }
}
export class TamperedError extends PairingError {
  constructor() { super(TAMPERED_WORDS); }
}

export const SENDER = "sender";
export const RECEIVER = "receiver";

// The DTLS fingerprints of an SDP, canonical: "alg HEX" sorted, joined by ";" ("" for none).
export function fingerprints(sdp) {
  const found = new Set();
  for (const m of String(sdp).matchAll(FINGERPRINT)) {
    found.add(`${m[1].toLowerCase()} ${m[2].toUpperCase()}`);
  }
  return [...found].sort().join(";");
}

// A code as castapp.codes.clean has it: separators dropped, NFKC, upper case.
export function canonicalCode(code) {
  return String(code).slice(0, 64).normalize("NFKC").replace(SEPARATORS, "").toUpperCase();
}

// The PAKE secret: the canonical code, and the PIN the TV shows when it shows one.
export function password(code, pin) {
  return enc.encode(`${CONTEXT}${canonicalCode(code)}\0${String(pin || "").trim()}`);
}

export function b64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(text) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new PairingFailedError();
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function sameText(a, b) {
  const x = enc.encode(String(a));
  const y = enc.encode(String(b));
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.min(x.length, y.length); i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

const other = (role) => (role === SENDER ? RECEIVER : SENDER);

export class Pairing {
  constructor(role, code, senderId, receiverId, { pin = null, attempt = 0 } = {}) {
    if (role !== SENDER && role !== RECEIVER) throw new PairingError("Unknown pairing role.");
    this.role = role;
    this.attempt = attempt;
    this.ids = [enc.encode(senderId), enc.encode(receiverId)];
    this.spake = new Spake2(role === SENDER ? "A" : "B", password(code, pin), ...this.ids);
    this.state = "new";
    this.key = null;
    this.fp = {};
    this.seen = "";
  }

  get confirmed() { return this.state === "confirmed"; }
  get keyed() { return this.state === "keyed" || this.state === "confirmed"; }
  get failed() { return this.state === "failed" || this.state === "tampered"; }

  fail(exc) {
    this.state = "failed";
    this.key = null;
    return exc;
  }

  need(...states) {
    if (this.state === "tampered") throw new TamperedError();
    if (this.state === "failed") throw new PairingFailedError();
    if (!states.includes(this.state)) throw new PairingError(`Pairing step out of order (${this.state}).`);
  }

  // Our PAKE message (a `pake` signal body).
  async start(entropy) {
    this.need("new");
    this.state = "started";
    const data = b64(await this.spake.start(entropy));
    return { kind: "pake", step: 0, data, attempt: this.attempt };
  }

  // The other side's PAKE message: the key (not yet confirmed).
  async receive(msg) {
    this.need("started");
    this.state = "receiving";
    let key;
    try {
      if (!msg || msg.step !== 0) throw new PairingFailedError();
      key = await this.spake.finish(unb64(msg.data));
    } catch (e) {
      throw this.fail(new PairingFailedError());
    }
    this.key = await crypto.subtle.importKey(
      "raw", await sha256(concat(enc.encode(KEY_LABEL), key)),
      { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    this.state = "keyed";
  }

  async mac(role, fpSender, fpReceiver, label = "confirm") {
    const parts = [enc.encode(CONFIRM), enc.encode(label), enc.encode(role), ...this.ids,
      enc.encode(fpSender), enc.encode(fpReceiver)];
    const body = concat(...parts.flatMap((x) => {
      const n = new Uint8Array(4);
      new DataView(n.buffer).setUint32(0, x.length);
      return [n, x];
    }));
    return b64(new Uint8Array(await crypto.subtle.sign("HMAC", this.key, body)));
  }

  // Our confirmation over the fingerprint of our own SDP (a `confirm` signal body): the
  // sender's before its offer; the receiver's, once the sender's checked, before its answer.
  async confirm(localSdp) {
    const local = fingerprints(localSdp);
    if (!local) throw new PairingError("The local description has no DTLS fingerprint.");
    if (this.role === SENDER) {
      this.need("keyed");
      this.fp[SENDER] = local;
      return { kind: "confirm", fingerprint: local, mac: await this.mac(SENDER, local, ""),
        attempt: this.attempt };
    }
    this.need("confirmed");
    this.fp[RECEIVER] = local;
    return { kind: "confirm", fingerprint: local,
      mac: await this.mac(RECEIVER, this.fp[SENDER], local), attempt: this.attempt };
  }

  // The other side's confirmation: throws PairingFailedError unless its MAC proves the same
  // key over what we know, TamperedError for a genuine tamper notice.
  async checkConfirm(msg) {
    const fingerprint = typeof msg.fingerprint === "string" ? msg.fingerprint : "";
    const mac = typeof msg.mac === "string" ? msg.mac : "";
    if (msg.tampered) {
      this.need("keyed", "confirmed");
      if (sameText(await this.mac(other(this.role), fingerprint, "", "tampered"), mac)) {
        this.state = "failed";
        this.key = null;
        throw new TamperedError();
      }
      throw this.fail(new PairingFailedError());
    }
    this.need("keyed");
    let fpS, fpR;
    if (this.role === RECEIVER) {
      [fpS, fpR] = [fingerprint, ""];
    } else {
      if (!this.fp[SENDER]) throw new PairingError("Send our confirmation before checking theirs.");
      [fpS, fpR] = [this.fp[SENDER], fingerprint];
    }
    if (!fingerprint || !sameText(await this.mac(other(this.role), fpS, fpR), mac)) {
      throw this.fail(new PairingFailedError());
    }
    this.fp[other(this.role)] = fingerprint;
    this.state = "confirmed";
  }

  // Before applying the other side's SDP: its fingerprints must be the confirmed ones.
  checkRemoteSdp(sdp) {
    this.need("confirmed");
    const found = fingerprints(sdp);
    if (!sameText(found, this.fp[other(this.role)])) {
      this.state = "tampered";
      this.seen = found;
      throw new TamperedError();
    }
  }

  // After checkRemoteSdp found tampering: the authenticated alarm for the other side.
  async tamperNotice() {
    if (this.state !== "tampered" || !this.key) throw new PairingError("Nothing was found tampered with.");
    return { kind: "confirm", fingerprint: this.seen, tampered: true,
      mac: await this.mac(this.role, this.seen, "", "tampered"), attempt: this.attempt };
  }
}
