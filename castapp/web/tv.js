// The castapp web receiver: a TV in a browser. Registers for a cast code, shows it with a QR
// code, and shows one sender's screen full screen.
"use strict";
import { t, translatePage } from "/web/i18n.js";
import { Service, gatheringDone, isPeerId } from "/web/common.js";
import {
  Pairing, PairingFailedError, RECEIVER, TAMPERED_WORDS, TamperedError,
} from "/web/pairing.js";

const $ = (id) => document.getElementById(id);
const NAME = "Browser TV";
const BANNER_S = 5;
const PAIRING_S = 20; // a sender that has not paired and offered by then lets the TV go
const enc = new TextEncoder();

const tv = {
  service: null, code: "", token: "", keys: null, ice: [],
  names: new Map(), // peer id -> display name
  caster: null, pc: null, retry: 1, bannerTimer: null,
  myId: "", pairing: null, pairingTimer: null, admitted: new Set(), queue: Promise.resolve(),
};

// The TV's status line and banner, in the page's language (castapp/web/i18n.js).
function setState(words) {
  const shown = t(words);
  $("tvstate").textContent = shown;
  document.body.dataset.tvstate = shown;
}

// ------------------------------------------------------------------ identity
// The receiver key proves possession when registering (Ed25519 in WebCrypto): the private key
// is created non-extractable and kept in IndexedDB, the token in localStorage, so a reload
// keeps the code. Without Ed25519 in WebCrypto the page registers without a key and gets a
// new code on every reload.
function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open("castapp-tv", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("keys");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function idbDo(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction("keys", mode);
    const req = fn(t.objectStore("keys"));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function loadKeys() {
  try {
    const db = await idb();
    let keys = await idbDo(db, "readonly", (s) => s.get("receiver"));
    if (!keys) {
      keys = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
      await idbDo(db, "readwrite", (s) => s.put(keys, "receiver"));
      localStorage.removeItem("castapp-tv-token");
    }
    return keys;
  } catch (e) {
    return null; // no Ed25519 or no storage: keyless registration
  }
}

function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function registerMessage(nonce) {
  const msg = { type: "register", name: NAME };
  if (!tv.keys) return msg;
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", tv.keys.publicKey));
  const token = tv.token || "";
  const signed = concat(enc.encode("castapp register v1\0"), enc.encode(nonce), new Uint8Array([0]),
    pub, new Uint8Array([0]), enc.encode(token));
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, tv.keys.privateKey, signed);
  msg.key = b64url(pub);
  msg.proof = b64url(sig);
  if (token) msg.token = token;
  return msg;
}

// ------------------------------------------------------------------ code screen
function grouped(code) {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

export function senderLink(code) {
  return `${location.origin}/#${code}`;
}

async function showCode(code) {
  tv.code = code;
  $("tvcode").textContent = grouped(code);
  document.body.dataset.code = code;
  try {
    // The service draws the QR code; the link goes in the request body, never in an address.
    const res = await fetch("/qr", { method: "POST", body: senderLink(code), cache: "no-store" });
    if (!res.ok) throw new Error(String(res.status));
    const url = URL.createObjectURL(await res.blob());
    const img = $("qr");
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = url;
    img.hidden = false;
  } catch (e) {
    $("qr").hidden = true;
  }
}

function showIdle(words) {
  $("cast").hidden = true;
  $("idle").hidden = false;
  $("video").srcObject = null;
  document.body.dataset.casting = "";
  setState(words);
}

function showBanner(words) {
  const b = $("banner");
  b.textContent = t(words);
  b.hidden = false;
  clearTimeout(tv.bannerTimer);
  tv.bannerTimer = setTimeout(() => { b.hidden = true; }, BANNER_S * 1000);
}

// ------------------------------------------------------------------ calls
// A castapp app sender pairs over the code before any media (castapp/web/pairing.js): its PAKE
// message, its confirmation over its DTLS fingerprint, then its offer, whose fingerprint must
// be the confirmed one; our confirmation goes out before our answer. The web sender pairs the
// same way; a browser guest that does not (its name carries the " (browser)" mark, and it
// offers with no PAKE message) is shown, marked "not verified".
const BROWSER_MARK = " (browser)";

function isBrowserGuest(peerId) {
  return (tv.names.get(peerId) || "").endsWith(BROWSER_MARK);
}

function dropCall() {
  if (tv.pc) tv.pc.close();
  tv.pc = null;
}

function endCall(words) {
  dropCall();
  clearTimeout(tv.pairingTimer);
  tv.caster = null;
  tv.pairing = null;
  document.body.dataset.verified = "";
  $("overlay").hidden = true;
  showIdle(words);
}

function signal(to, body) {
  tv.service.send({ type: "signal", to, body });
}

function refuseBusy(peerId) {
  signal(peerId, { kind: "admission", state: "full" }); // this TV shows one sender
  tv.service.send({ type: "bye", to: peerId, reason: "The TV is showing someone else." });
}

// Let a sender on (it pairs next). A TV in a browser shows one sender at a time.
function admit(peerId) {
  if (tv.admitted.has(peerId)) return;
  tv.admitted.add(peerId);
  signal(peerId, { kind: "admission", state: "allowed" });
}

// The cast is refused: tell the sender (with the authenticated notice when we found it).
async function refuseTampered(peerId, foundHere) {
  const pairing = tv.pairing;
  console.warn(`security: the connection of sender ${peerId} was tampered with; not showing it`);
  if (foundHere && pairing) {
    try { signal(peerId, await pairing.tamperNotice()); } catch (e) { /* nothing to tell */ }
  }
  tv.service.send({ type: "bye", to: peerId, reason: "tampered" });
  endCall(TAMPERED_WORDS);
  document.body.dataset.fault = "tampered";
}

function validAttempt(v) {
  return Number.isInteger(v) && v >= 0 && v <= 2 ** 31;
}

async function onPake(from, body) {
  if (tv.caster && tv.caster !== from) { refuseBusy(from); return; }
  if (!tv.code || !tv.myId || !validAttempt(body.attempt ?? 0)) return;
  // a new pairing is a new peer connection: the sender rebuilt its call
  dropCall();
  tv.caster = from;
  tv.pairing = null;
  const pairing = new Pairing(RECEIVER, tv.code, from, tv.myId, { attempt: body.attempt ?? 0 });
  const start = await pairing.start();
  try {
    await pairing.receive(body);
  } catch (e) {
    console.warn(`security: a malformed PAKE message from sender ${from}`);
    if (tv.caster === from) endCall("A sender could not pair with this TV.");
    return;
  }
  if (tv.caster !== from) return;
  tv.pairing = pairing;
  admit(from);
  signal(from, start);
  clearTimeout(tv.pairingTimer);
  tv.pairingTimer = setTimeout(() => {
    if (tv.caster === from && tv.pairing === pairing && !tv.pc) {
      console.warn(`security: sender ${from} did not finish pairing`);
      endCall("A sender did not finish pairing. Ready for the next one.");
    }
  }, PAIRING_S * 1000);
  delete document.body.dataset.fault;
  setState(t("Pairing with {name}…", { name: tv.names.get(from) || t("a sender") }));
}

async function onConfirm(from, body) {
  const pairing = tv.pairing;
  if (from !== tv.caster || !pairing || (body.attempt ?? 0) !== pairing.attempt) return;
  try {
    await pairing.checkConfirm(body);
  } catch (e) {
    if (e instanceof TamperedError || e instanceof PairingFailedError) {
      await refuseTampered(from, false); // a notice from the sender, or a MAC that does not check
    } // else a step out of order: nothing to do
  }
}

async function onOffer(msg) {
  if (!isPeerId(msg.from) || typeof msg.sdp !== "string") return;
  if (tv.caster && tv.caster !== msg.from) { refuseBusy(msg.from); return; }
  const pairing = tv.caster === msg.from ? tv.pairing : null;
  if (pairing) {
    if (!pairing.confirmed) {
      console.warn(`security: an offer from ${msg.from} before its pairing was confirmed`);
      return;
    }
    try {
      pairing.checkRemoteSdp(msg.sdp); // the fingerprint the code confirmed, or nothing is applied
    } catch (e) {
      await refuseTampered(msg.from, e instanceof TamperedError);
      return;
    }
  } else if (!isBrowserGuest(msg.from)) {
    console.warn(`security: an offer from ${msg.from} without a pairing`);
    return;
  }
  dropCall(); // a new offer from the same sender: start over
  clearTimeout(tv.pairingTimer);
  tv.caster = msg.from;
  admit(msg.from);
  const pc = new RTCPeerConnection({ iceServers: tv.ice, bundlePolicy: "max-bundle" });
  tv.pc = pc;
  pc.ontrack = (ev) => {
    lowLatency(ev.receiver);
    if (ev.track.kind !== "video") return;
    const stream = ev.streams[0] || new MediaStream([ev.track]);
    $("video").srcObject = stream;
  };
  pc.onconnectionstatechange = () => {
    if (tv.pc !== pc) return;
    const s = pc.connectionState;
    document.body.dataset.connection = s;
    $("overlay").hidden = s !== "disconnected";
    if (s === "failed") endCall("The cast was lost. Cast again with the code.");
  };
  let confirm = null;
  try {
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    for (const t of pc.getTransceivers()) t.direction = "recvonly";
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringDone(pc);
    if (pairing) confirm = await pairing.confirm(pc.localDescription.sdp);
  } catch (e) {
    if (tv.pc !== pc) return;
    tv.service.send({ type: "bye", to: msg.from, reason: "The TV could not use this offer." });
    endCall("A sender's offer could not be used.");
    return;
  }
  if (tv.pc !== pc) return;
  if (confirm) signal(msg.from, confirm); // our fingerprint, under the shared key, first
  tv.service.send({ type: "answer", to: msg.from, sdp: pc.localDescription.sdp });
  const raw = tv.names.get(msg.from) || t("Someone");
  const name = raw.endsWith(BROWSER_MARK) ? raw.slice(0, -BROWSER_MARK.length) || t("Someone") : raw;
  const verified = Boolean(pairing);
  $("idle").hidden = true;
  $("cast").hidden = false;
  document.body.dataset.casting = name;
  document.body.dataset.verified = verified ? "1" : "0";
  setState(t(verified ? "{name} is casting." : "{name} is casting from a browser (not verified).",
    { name }));
  showBanner(t(verified ? "{name} is casting" : "{name} is casting from a browser — not verified",
    { name }));
}

// A screen is shown as soon as it is decoded: no playout delay beyond what the network's
// jitter needs (Chromium's default target adds smoothing a screen does not need).
function lowLatency(receiver) {
  try {
    if ("jitterBufferTarget" in receiver) receiver.jitterBufferTarget = 0; // milliseconds
    else if ("playoutDelayHint" in receiver) receiver.playoutDelayHint = 0; // seconds (older)
  } catch (e) { /* keep the browser's default */ }
}

function onSignal(msg) {
  const body = msg.body;
  if (!isPeerId(msg.from) || !body || typeof body !== "object") return null;
  if (body.kind === "pake") return onPake(msg.from, body);
  if (body.kind === "confirm") return onConfirm(msg.from, body);
  return null;
}

// Messages are handled one after another: a pairing step waits for the one before it.
function onMessage(msg) {
  tv.queue = tv.queue.then(() => handle(msg)).catch((e) => console.warn(`castapp: ${e}`));
}

async function handle(msg) {
  switch (msg.type) {
    case "peer_joined":
      if (msg.peer && isPeerId(msg.peer.peer_id)) {
        const id = msg.peer.peer_id;
        tv.names.set(id, String(msg.peer.name || t("Someone")).slice(0, 64));
        if (tv.caster && tv.caster !== id) refuseBusy(id);
        else admit(id);
      }
      break;
    case "offer":
      await onOffer(msg);
      break;
    case "signal":
      await onSignal(msg);
      break;
    case "candidate":
      if (tv.pc && msg.from === tv.caster && msg.candidate && typeof msg.candidate === "object") {
        tv.pc.addIceCandidate(msg.candidate).catch(() => {});
      }
      break;
    case "bye":
      if (msg.from === tv.caster) endCall("The cast ended.");
      break;
    case "peer_left":
      tv.names.delete(msg.peer_id);
      tv.admitted.delete(msg.peer_id);
      if (msg.peer_id === tv.caster) endCall("The sender left.");
      break;
    case "guard":
      setState(t("Codes are being guessed here: senders also need PIN {pin}.",
        { pin: String(msg.pin).slice(0, 8) }));
      break;
    case "shutdown":
      tv.service.close();
      reconnectSoon(Math.min(30, (Number(msg.retry_after_ms) || 2000) / 1000));
      break;
  }
}

// ------------------------------------------------------------------ service
async function connect() {
  setState("Connecting to the room service…");
  const service = new Service("castapp-web-tv", onMessage, () => {
    // a cast in progress goes on peer to peer; only the room service connection is renewed
    setState("Lost the room service. Reconnecting…");
    reconnectSoon(tv.retry);
  });
  tv.service = service;
  try {
    const welcome = await service.open();
    tv.myId = String(welcome.peer_id || "");
    service.send(await registerMessage(String(welcome.nonce || "")));
    const reg = await new Promise((resolve, reject) => {
      const prev = service.onMessage;
      service.onMessage = (msg) => {
        if (msg.type === "registered") { service.onMessage = prev; resolve(msg); }
        else if (msg.type === "error") { service.onMessage = prev; reject(msg); }
        else prev(msg);
      };
    });
    tv.retry = 1;
    tv.ice = Array.isArray(reg.ice_servers) ? reg.ice_servers : [];
    if (reg.token && tv.keys) {
      tv.token = String(reg.token);
      localStorage.setItem("castapp-tv-token", tv.token);
    }
    await showCode(String(reg.code));
    if (!tv.caster) setState("Ready. Open the link in the QR code, or type the code in castapp.");
  } catch (e) {
    if (e && e.code === "not_proven") { // the token is stale: register afresh
      tv.token = "";
      localStorage.removeItem("castapp-tv-token");
    }
    service.close();
    setState(t("Could not register with the room service ({reason}). Retrying…",
      { reason: (e && (e.message || e.code)) || e }));
    reconnectSoon(tv.retry);
  }
}

function reconnectSoon(seconds) {
  tv.retry = Math.min(30, tv.retry * 2);
  setTimeout(connect, seconds * 1000);
}

// What the page receives, for people (and tests) who look: the video's inbound RTP figures.
async function receiveStats() {
  if (!tv.pc) return null;
  const report = await tv.pc.getStats();
  for (const s of report.values()) {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      const codec = s.codecId && report.get(s.codecId);
      return {
        codec: codec ? codec.mimeType : null, fps: s.framesPerSecond,
        framesDecoded: s.framesDecoded, decoder: s.decoderImplementation,
        jitterBufferDelay: s.jitterBufferDelay, jitterBufferEmittedCount: s.jitterBufferEmittedCount,
        // the delay the buffer aimed at, and the least it could have had (its floor)
        jitterBufferTargetDelay: s.jitterBufferTargetDelay,
        jitterBufferMinimumDelay: s.jitterBufferMinimumDelay,
        totalDecodeTime: s.totalDecodeTime, totalProcessingDelay: s.totalProcessingDelay,
        totalAssemblyTime: s.totalAssemblyTime, framesAssembledFromMultiplePackets:
          s.framesAssembledFromMultiplePackets,
        jitter: s.jitter, framesDropped: s.framesDropped,
      };
    }
  }
  return null;
}

// ------------------------------------------------------------------ full screen
function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else document.documentElement.requestFullscreen().catch(() => {});
}

async function init() {
  translatePage();
  window.castappReceiveStats = receiveStats;
  document.addEventListener("click", toggleFullscreen);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === "f" || e.key === "F") toggleFullscreen();
  });
  tv.keys = await loadKeys();
  tv.token = tv.keys ? (localStorage.getItem("castapp-tv-token") || "") : "";
  document.body.dataset.keyed = tv.keys ? "1" : "0";
  await connect();
}

init();
