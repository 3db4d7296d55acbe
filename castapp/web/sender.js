// The castapp web sender: getDisplayMedia -> WebRTC -> a castapp receiver, by its cast code.
// It pairs as the app sender does (castapp/web/pairing.js, docs/security.md): the cast code
// (and the TV's PIN, when it asks for one) is the SPAKE2 password, our confirmation binds our
// DTLS fingerprint and goes before the offer, and the TV's answer is applied only if its
// fingerprint is the one the TV confirmed under the shared key.
"use strict";
import { Service, cleanCode, isValidCode, gatheringDone, isPeerId } from "/web/common.js";
import {
  FAILED_WORDS, Pairing, PairingFailedError, SENDER, TAMPERED_WORDS, TamperedError,
} from "/web/pairing.js";
import { t, translatePage } from "/web/i18n.js";

const $ = (id) => document.getElementById(id);
const MAX_BITRATE = 7_500_000; // bits per second: the app's ceiling for 1080p30 (VP8)
const BROWSER_MARK = " (browser)";
const NO_SCREEN = "This browser cannot share a screen (phones and tablets cannot). Open this page on a laptop or desktop browser.";
const INSECURE = "Sharing needs a secure page: open this page with https:// (or as localhost on the computer running the service).";

const ADMISSION_WORDS = {
  waiting: "Waiting for the TV to allow you…",
  pin: "Type the PIN shown on the TV.",
  wrong_pin: "That PIN was not the one on the TV. Type it again.",
  allowed: "The TV allowed you. Connecting…",
  denied: "The TV said no. Your screen is not shared.",
  stopped: "The TV ended your cast.",
  full: "The TV is full: every place is taken. Try again later.",
};

const state = {
  service: null, pc: null, stream: null, receiver: null, phase: "idle", // idle|joining|casting
  early: [], // messages from the TV that overtook "joined" (the TV hears of us first)
  code: "", me: "", pin: "", // our peer id; the PIN typed for the TV, if it asked for one
  pairing: null, attempt: 0, allowed: false, offerSdp: null, confirmSent: false,
  offerSent: false, queue: Promise.resolve(),
};

// Every status line goes through here, in the page's language (castapp/web/i18n.js).
function say(text, error = false) {
  const el = $("status");
  const shown = t(text);
  el.textContent = shown;
  el.classList.toggle("error", error);
  document.body.dataset.status = shown;
}

export function canShareScreen() {
  return !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
}

function codeFromAddress() {
  // The QR link carries the code in the fragment (#482913), which never reaches the service.
  const fromHash = cleanCode(decodeURIComponent(location.hash.replace(/^#/, "")));
  if (isValidCode(fromHash)) return fromHash;
  const fromQuery = cleanCode(new URLSearchParams(location.search).get("code") || "");
  return isValidCode(fromQuery) ? fromQuery : "";
}

function setCasting(on) {
  $("share").hidden = on;
  $("stop").hidden = !on;
  $("code").disabled = on;
  $("name").disabled = on;
}

function showPin(on) {
  $("pin").hidden = !on;
  $("pinlabel").hidden = !on;
  $("sendpin").hidden = !on;
  if (on) $("pin").focus();
}

function stop(words, error = false) {
  if (state.service && state.receiver) {
    state.service.send({ type: "bye", to: state.receiver, reason: "stopped" });
    state.service.send({ type: "leave" });
  }
  if (state.service) state.service.close();
  if (state.pc) state.pc.close();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  Object.assign(state, { service: null, pc: null, stream: null, receiver: null, phase: "idle",
    early: [], pin: "", pairing: null, allowed: false, offerSdp: null, confirmSent: false,
    offerSent: false });
  $("preview").hidden = true;
  $("preview").srcObject = null;
  showPin(false);
  setCasting(false);
  document.body.dataset.phase = "idle";
  if (words) say(words, error);
}

function tuneTrack(track) {
  if ("contentHint" in track) track.contentHint = "detail"; // screen text stays sharp
}

async function tuneSender(sender) {
  const params = sender.getParameters();
  params.degradationPreference = "maintain-resolution";
  if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
  params.encodings[0].maxBitrate = MAX_BITRATE;
  try { await sender.setParameters(params); } catch (e) { /* older browsers: defaults */ }
}

// Chromium reads these fmtp hints of the answer: start the bandwidth estimate where a screen
// needs it and never starve it below a readable floor (the receiver's estimate ramps slowly).
// Other browsers ignore them.
// The floor and the start follow the app sender's policy for screens (castapp/rtc/bitrate.py,
// libvpx's bits per pixel): the receiver's estimate (REMB) drops with its own CPU load and a
// quiet screen, and a 1080p screen encoded under the floor overshoots it, so Chromium's pacer
// queues up to 2 s of frames.
const FLOOR_BPP = 0.03;
const START_BPP = 0.06;
const MIN_FLOOR_KBPS = 500;

export function screenBitrates(width, height, fps) {
  const rate = (Number(width) || 1920) * (Number(height) || 1080) * Math.min(30, Number(fps) || 30);
  const cap = MAX_BITRATE / 1000;
  const min = Math.round(Math.min(cap, Math.max(MIN_FLOOR_KBPS, (rate * FLOOR_BPP) / 1000)));
  const start = Math.round(Math.min(cap, Math.max(min, (rate * START_BPP) / 1000)));
  return { start, min };
}

function trackBitrates() {
  const track = state.stream && state.stream.getVideoTracks()[0];
  const set = track ? track.getSettings() : {};
  return screenBitrates(set.width, set.height, set.frameRate);
}

export function screenAnswer(sdp, { start, min } = screenBitrates(1920, 1080, 30)) {
  const hint = `x-google-start-bitrate=${start};x-google-min-bitrate=${min}`;
  const sections = sdp.split(/\r\n(?=m=)/).map((section) => {
    if (!section.startsWith("m=video")) return section;
    const lines = section.split("\r\n");
    const media = new Set();
    for (const line of lines) {
      const m = /^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)\//i.exec(line);
      if (m) media.add(m[1]);
    }
    const out = [];
    const withFmtp = new Set();
    for (const line of lines) {
      const f = /^a=fmtp:(\d+) /.exec(line);
      if (f && media.has(f[1]) && !line.includes("x-google-")) {
        withFmtp.add(f[1]);
        out.push(`${line};${hint}`);
      } else {
        out.push(line);
      }
    }
    return out.map((line) => {
      const m = /^a=rtpmap:(\d+) /.exec(line);
      return m && media.has(m[1]) && !withFmtp.has(m[1]) ? `${line}\r\na=fmtp:${m[1]} ${hint}` : line;
    }).join("\r\n");
  });
  return sections.join("\r\n");
}

// The TV says the size and rate it shows us at: send no more (fewer pixels, same sharpness).
async function followView(view) {
  const w = Number(view.width), h = Number(view.height), fps = Number(view.fps);
  if (!(w >= 16 && h >= 16 && fps >= 1)) return;
  const tr = state.pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === "video");
  if (!tr) return;
  const set = tr.sender.track.getSettings();
  const scale = Math.max(1, (set.width || w) / w, (set.height || h) / h);
  const params = tr.sender.getParameters();
  if (!params.encodings || !params.encodings.length) return;
  params.encodings[0].scaleResolutionDownBy = scale;
  params.encodings[0].maxFramerate = Math.min(30, fps);
  try { await tr.sender.setParameters(params); } catch (e) { /* keep what is sent */ }
  document.body.dataset.view = `${w}x${h}@${fps}`;
}

async function startCall(joined) {
  const receiver = joined.receiver && joined.receiver.peer_id;
  if (!isPeerId(receiver)) throw new Error("The room service sent a malformed answer.");
  state.receiver = receiver;
  const iceServers = Array.isArray(joined.ice_servers) ? joined.ice_servers : [];
  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
  state.pc = pc;
  for (const track of state.stream.getTracks()) {
    if (track.kind === "video") tuneTrack(track);
    const tr = pc.addTransceiver(track, { direction: "sendonly", streams: [state.stream] });
    if (track.kind === "video") await tuneSender(tr.sender);
  }
  pc.onconnectionstatechange = () => {
    const s = pc.connectionState;
    document.body.dataset.connection = s;
    if (s === "connected") say("On the TV: your screen is shown.");
    else if (s === "disconnected") say("The connection to the TV is unsteady…");
    else if (s === "failed") stop("The connection to the TV failed. Try again.", true);
  };
  if (state.pc !== pc) return; // stopped meanwhile
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringDone(pc);
  if (state.pc !== pc) return;
  state.offerSdp = pc.localDescription.sdp;
  await flush();
}

// ------------------------------------------------------------------ pairing
// A new pairing over the code (and the PIN typed, if any): our PAKE message goes out now.
function startPairing() {
  state.attempt += 1;
  state.pairing = new Pairing(SENDER, state.code, state.me, state.receiver,
    { pin: state.pin || null, attempt: state.attempt });
  state.confirmSent = false;
  const pairing = state.pairing;
  return pairing.start().then((msg) => {
    if (state.pairing === pairing) state.service.send({ type: "signal", to: state.receiver, body: msg });
  });
}

// Our confirmation once the pairing has a key and the call its offer; the offer right after
// it, once the TV has let us on. Each goes once.
async function flush() {
  const pairing = state.pairing;
  if (!pairing || pairing.failed || !state.offerSdp || !state.service) return;
  if (!state.confirmSent) {
    if (!pairing.keyed) return; // the TV's PAKE message is still on its way
    const confirm = await pairing.confirm(state.offerSdp);
    if (state.pairing !== pairing || state.confirmSent) return;
    state.confirmSent = true;
    state.service.send({ type: "signal", to: state.receiver, body: confirm });
  }
  if (!state.offerSent && state.allowed) {
    state.offerSent = true;
    state.service.send({ type: "offer", to: state.receiver, sdp: state.offerSdp });
  }
}

// The cast is refused: tell the TV (with the authenticated notice when we found it).
async function refuse(words, notice) {
  const pairing = state.pairing;
  console.warn(`security: the connection to the TV ${state.receiver} was refused: ${words}`);
  if (notice && pairing && state.service) {
    try {
      state.service.send({ type: "signal", to: state.receiver, body: await pairing.tamperNotice() });
    } catch (e) { /* nothing to tell */ }
  }
  if (state.service && state.receiver) {
    state.service.send({ type: "bye", to: state.receiver, reason: "tampered" });
  }
  document.body.dataset.fault = words === TAMPERED_WORDS ? "tampered" : "failed";
  stop(words, true);
}

function validAttempt(v) {
  return Number.isInteger(v) && v >= 0 && v <= 2 ** 31;
}

async function onPake(body) {
  const pairing = state.pairing;
  if (!pairing || pairing.keyed || pairing.failed || (body.attempt ?? 0) !== pairing.attempt) return;
  try {
    await pairing.receive(body);
  } catch (e) {
    await refuse(FAILED_WORDS, false);
    return;
  }
  await flush();
}

async function onConfirm(body) {
  const pairing = state.pairing;
  if (!pairing || !validAttempt(body.attempt ?? 0) || (body.attempt ?? 0) !== pairing.attempt) return;
  try {
    await pairing.checkConfirm(body);
  } catch (e) {
    if (e instanceof TamperedError) await refuse(TAMPERED_WORDS, false); // the TV found it
    else if (e instanceof PairingFailedError) await refuse(FAILED_WORDS, false);
    return; // else a step out of order: nothing to do
  }
  document.body.dataset.verified = "1";
}

async function onAnswer(msg) {
  const pairing = state.pairing;
  try { // the fingerprint the code confirmed, or nothing is applied
    if (!pairing) throw new PairingFailedError();
    pairing.checkRemoteSdp(msg.sdp);
  } catch (e) {
    await refuse(e instanceof TamperedError ? TAMPERED_WORDS : FAILED_WORDS,
      e instanceof TamperedError);
    return;
  }
  try {
    await state.pc.setRemoteDescription({ type: "answer", sdp: screenAnswer(msg.sdp, trackBitrates()) });
  } catch (e) {
    stop("The TV sent an answer this browser cannot use.", true);
  }
}

function onAdmission(body) {
  document.body.dataset.admission = body.state;
  say(ADMISSION_WORDS[body.state], ["denied", "stopped", "full"].includes(body.state));
  showPin(body.state === "pin" || body.state === "wrong_pin");
  if (["denied", "stopped", "full"].includes(body.state)) {
    stop(ADMISSION_WORDS[body.state], true);
    return null;
  }
  if (body.state === "allowed") {
    state.allowed = true;
    // in PIN mode the pairing over code and PIN is what let us on: it goes on
    if (!state.pairing || state.pairing.failed) return startPairing().then(flush);
    return flush();
  }
  state.allowed = false;
  return null;
}

async function onServiceMessage(msg) {
  switch (msg.type) {
    case "joined": {
      if (state.phase !== "joining") return;
      state.phase = "casting";
      document.body.dataset.phase = "casting";
      say("Found the TV. Connecting…");
      const early = state.early.filter((m) => m.from === (msg.receiver && msg.receiver.peer_id));
      state.early = [];
      try {
        const call = startCall(msg); // sets state.receiver at once
        call.catch((e) => stop(String(e.message || e), true)); // the queue goes on meanwhile
        for (const m of early) await onServiceMessage(m);
      } catch (e) { stop(String(e.message || e), true); }
      break;
    }
    case "answer":
      if (!state.pc || msg.from !== state.receiver || typeof msg.sdp !== "string") return;
      if (state.pc.signalingState !== "have-local-offer") return; // one answer per offer
      await onAnswer(msg);
      break;
    case "candidate":
      if (state.pc && msg.from === state.receiver && msg.candidate && typeof msg.candidate === "object") {
        try { await state.pc.addIceCandidate(msg.candidate); } catch (e) { /* a stale candidate */ }
      }
      break;
    case "signal": {
      if (state.phase === "joining" && state.early.length < 16) { state.early.push(msg); return; }
      const body = msg.body;
      if (msg.from !== state.receiver || !body || typeof body !== "object") return;
      if (body.kind === "admission" && typeof ADMISSION_WORDS[body.state] === "string") {
        await onAdmission(body);
      } else if (body.kind === "pake" && state.receiver) {
        await onPake(body);
      } else if (body.kind === "confirm" && state.receiver) {
        await onConfirm(body);
      } else if (body.kind === "view" && state.pc) {
        document.body.dataset.tile = `${body.tile}/${body.tiles}`;
        await followView(body);
      }
      break;
    }
    case "bye":
      if (msg.from !== state.receiver) break;
      if (msg.reason === "tampered") {
        document.body.dataset.fault = "tampered";
        stop(TAMPERED_WORDS, true);
      } else {
        stop("The TV ended the cast.");
      }
      break;
    case "room_closed":
      stop("The TV went away. The cast has ended.");
      break;
    case "peer_left":
      if (msg.peer_id === state.receiver) say("The TV dropped off the room service; waiting for it to come back…");
      break;
    case "shutdown":
      stop("The room service is restarting. Share again in a moment.", true);
      break;
    case "error":
      onError(msg);
      break;
  }
}

function onError(msg) {
  const words = {
    unknown_code: "No receiver has this code. Check the code on the TV.",
    pin_required: "No receiver has this code, or the service wants the PIN shown next to the code.",
    rate_limited: t("Too many tries. Wait {s} seconds and try again.",
      { s: Math.ceil(Number(msg.retry_after_s) || 60) }),
    room_full: "The TV is full: every place is taken. Try again later.",
    unsupported_version: "This page is older than the room service. Reload it.",
  }[msg.code];
  if (state.phase === "joining" || words) stop(words || String(msg.message || "The room service refused."), true);
}

async function share(ev) {
  ev.preventDefault();
  if (state.phase !== "idle") return;
  const code = cleanCode($("code").value);
  if (!isValidCode(code)) {
    say("Type the code shown on the TV (6 digits).", true);
    return;
  }
  if (!canShareScreen()) {
    say(window.isSecureContext ? NO_SCREEN : INSECURE, true);
    return;
  }
  delete document.body.dataset.fault;
  delete document.body.dataset.verified;
  let stream;
  try {
    // Called straight from the click: browsers need that gesture to show their picker.
    stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 30, max: 30 }, width: { max: 1920 }, height: { max: 1080 } },
      audio: true,
    });
  } catch (e) {
    say(e && e.name === "NotAllowedError" ? "Sharing was cancelled. Nothing is sent."
      : t("This browser could not share the screen ({error}).",
        { error: e && e.name ? e.name : "error" }), true);
    return;
  }
  state.stream = stream;
  const video = stream.getVideoTracks()[0];
  if (video) video.addEventListener("ended", () => stop("You stopped sharing."));
  $("preview").srcObject = stream;
  $("preview").hidden = false;
  setCasting(true);
  state.phase = "joining";
  document.body.dataset.phase = "joining";
  say("Looking for the TV…");
  const name = ($("name").value.trim() || t("Guest")).slice(0, 48) + BROWSER_MARK;
  // messages are handled one after another: a pairing step waits for the one before it
  const queued = (msg) => {
    state.queue = state.queue.then(() => onServiceMessage(msg))
      .catch((e) => console.warn(`castapp: ${e}`));
  };
  state.service = new Service("castapp-web-sender", queued,
    () => { if (state.phase !== "idle") stop("Lost the room service. Share again.", true); });
  let welcome;
  try {
    welcome = await state.service.open();
  } catch (e) {
    stop(String(e.message || e), true);
    return;
  }
  state.code = code;
  state.me = String(welcome.peer_id || "");
  state.service.send({ type: "join", code, name });
}

// The PIN goes into a new pairing (never in clear): the TV lets us on if its key confirms.
function sendPin() {
  const pin = $("pin").value.replace(/\D/g, "").slice(0, 8);
  if (!pin || !state.receiver || !state.service) return;
  state.pin = pin;
  $("pin").value = "";
  say("Checking the PIN…");
  startPairing().then(flush).catch((e) => console.warn(`castapp: ${e}`));
}

// What the page sends, for people (and benchmarks) who look: the video's outbound RTP figures.
async function sendStats() {
  if (!state.pc) return null;
  const report = await state.pc.getStats();
  for (const s of report.values()) {
    if (s.type === "outbound-rtp" && s.kind === "video") {
      return {
        fps: s.framesPerSecond, width: s.frameWidth, height: s.frameHeight,
        limitation: s.qualityLimitationReason, targetBitrate: s.targetBitrate,
        encoder: s.encoderImplementation, framesSent: s.framesSent,
      };
    }
  }
  return null;
}

function init() {
  translatePage();
  window.castappSendStats = sendStats;
  $("code").value = codeFromAddress();
  if (location.hash) history.replaceState(null, "", location.pathname); // the code leaves the address bar
  $("form").addEventListener("submit", share);
  $("stop").addEventListener("click", () => stop("You stopped sharing."));
  $("sendpin").addEventListener("click", sendPin);
  $("pin").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); sendPin(); } });
  window.addEventListener("pagehide", () => stop());
  if (!window.isSecureContext) {
    say(INSECURE, true);
  } else if (!canShareScreen()) {
    say(NO_SCREEN, true);
    $("share").disabled = true;
  } else if ($("code").value) {
    say("Code filled in. Press \"Share your screen\".");
  }
  document.body.dataset.ready = "1";
}

init();
