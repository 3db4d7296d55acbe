// Shared by the castapp web pages: the room service connection (JSON over /ws).
"use strict";

export const PROTOCOL_VERSIONS = [2];

export function serviceSocketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

// A code as typed: digits and letters only (spaces, dashes and dots are allowed in between).
export function cleanCode(text) {
  return String(text || "").replace(/[\s.\-]/g, "").slice(0, 32);
}

export function isValidCode(code) {
  return /^[A-Za-z0-9]{4,16}$/.test(code);
}

// One connection to the room service. `onMessage(msg)` gets every parsed message.
export class Service {
  constructor(client, onMessage, onClose) {
    this.client = client;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
    this.welcome = null;
    this.pinger = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(serviceSocketUrl());
      this.ws = ws;
      let settled = false;
      ws.onopen = () => this.send({ type: "hello", versions: PROTOCOL_VERSIONS, client: this.client });
      ws.onmessage = (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
        if (msg.type === "welcome" && !settled) {
          settled = true;
          this.welcome = msg;
          const every = Math.max(2, Math.min(60, Number(msg.heartbeat_s) || 15));
          this.pinger = setInterval(() => this.send({ type: "ping", ts: Date.now() / 1000 }), every * 1000);
          resolve(msg);
          return;
        }
        if (msg.type === "error" && !settled) {
          settled = true;
          reject(new Error(msg.message || "The room service refused the connection."));
          return;
        }
        this.onMessage(msg);
      };
      ws.onclose = () => {
        clearInterval(this.pinger);
        if (!settled) {
          settled = true;
          reject(new Error("Could not reach the room service."));
        } else if (this.onClose) {
          this.onClose();
        }
      };
    });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close() {
    clearInterval(this.pinger);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    this.ws = null;
  }
}

// Resolve once ICE gathering is complete (or after `ms`), so the SDP carries the candidates.
export function gatheringDone(pc, ms = 3000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

// A peer id as the service hands them out: short and plain.
export function isPeerId(v) {
  return typeof v === "string" && v.length > 0 && v.length <= 64;
}
