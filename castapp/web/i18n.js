// The web pages' words in the browser's language: English, or Simplified Chinese when the
// browser prefers Chinese (the desktop app's two languages). Each text is its own English
// key; t("… {name} …", { name }) fills its fields after translating. Elements of the pages
// marked data-t (their text), data-t-placeholder and data-t-alt are translated at load.
// tests/unit/test_web_translations.py checks that every key used has a translation.
"use strict";

const ZH = {
  // the sender page
  "castapp — share your screen": "castapp — 共享你的屏幕",
  "Share your screen on a TV": "把你的屏幕投到电视上",
  "Type the code the TV shows. Nothing to install: this page sends your screen straight to the TV.":
    "输入电视上显示的投屏码。无需安装：此页面直接把你的屏幕发送到电视。",
  "Cast code": "投屏码",
  "Your name (shown on the TV)": "你的名字（显示在电视上）",
  "Guest": "访客",
  "PIN shown on the TV": "电视上显示的 PIN",
  "Share your screen": "共享屏幕",
  "Send the PIN": "发送 PIN",
  "Stop sharing": "停止共享",
  "Your browser asks which screen, window or tab to share; tick \"share audio\" there to send the sound too. The code also proves to this page that it reaches the TV showing it, and to the TV that it is you: the TV shows you as verified, marked \"Browser\".":
    "浏览器会询问要共享哪个屏幕、窗口或标签页；在那里勾选“分享音频”即可同时发送声音。投屏码还向此页面证明它连到的正是显示该码的电视，并向电视证明是你：电视会把你显示为已验证，并标记为“浏览器”。",
  "This browser cannot share a screen (phones and tablets cannot). Open this page on a laptop or desktop browser.":
    "此浏览器无法共享屏幕（手机和平板电脑不支持）。请在笔记本或台式电脑的浏览器中打开此页面。",
  "Sharing needs a secure page: open this page with https:// (or as localhost on the computer running the service).":
    "共享屏幕需要安全的页面：请用 https:// 打开此页面（或在运行服务的电脑上通过 localhost 打开）。",
  "Waiting for the TV to allow you…": "正在等待电视允许你…",
  "Type the PIN shown on the TV.": "请输入电视上显示的 PIN。",
  "That PIN was not the one on the TV. Type it again.": "这不是电视上显示的 PIN。请重新输入。",
  "The TV allowed you. Connecting…": "电视已允许你。正在连接…",
  "The TV said no. Your screen is not shared.": "电视拒绝了。你的屏幕没有共享。",
  "The TV ended your cast.": "电视结束了你的投屏。",
  "The TV is full: every place is taken. Try again later.": "电视已满：所有位置都已占用。请稍后再试。",
  "On the TV: your screen is shown.": "你的屏幕已显示在电视上。",
  "The connection to the TV is unsteady…": "与电视的连接不稳定…",
  "The connection to the TV failed. Try again.": "与电视的连接失败。请重试。",
  "The TV sent an answer this browser cannot use.": "电视发来的应答此浏览器无法使用。",
  "Found the TV. Connecting…": "已找到电视。正在连接…",
  "The TV ended the cast.": "电视结束了投屏。",
  "The TV went away. The cast has ended.": "电视已离开。投屏已结束。",
  "The TV dropped off the room service; waiting for it to come back…": "电视与房间服务断开了；正在等待它回来…",
  "The room service is restarting. Share again in a moment.": "房间服务正在重启。请稍后重新共享。",
  "No receiver has this code. Check the code on the TV.": "没有接收端使用此投屏码。请核对电视上的投屏码。",
  "No receiver has this code, or the service wants the PIN shown next to the code.":
    "没有接收端使用此投屏码，或者服务需要投屏码旁边显示的 PIN。",
  "Too many tries. Wait {s} seconds and try again.": "尝试次数过多。请等待 {s} 秒后再试。",
  "This page is older than the room service. Reload it.": "此页面比房间服务旧。请重新加载。",
  "The room service refused.": "房间服务拒绝了请求。",
  "Type the code shown on the TV (6 digits).": "请输入电视上显示的投屏码（6 位数字）。",
  "Sharing was cancelled. Nothing is sent.": "共享已取消。没有发送任何内容。",
  "This browser could not share the screen ({error}).": "此浏览器无法共享屏幕（{error}）。",
  "You stopped sharing.": "你停止了共享。",
  "Looking for the TV…": "正在查找电视…",
  "Lost the room service. Share again.": "与房间服务的连接断开了。请重新共享。",
  "Checking the PIN…": "正在核对 PIN…",
  "Code filled in. Press \"Share your screen\".": "投屏码已填好。请按“共享屏幕”。",
  "The connection was tampered with — not casting.": "连接被篡改 — 未投屏。",
  "The code did not match; check the code on the TV and try again.": "投屏码不匹配；请核对电视上的投屏码后重试。",
  "The room service refused the connection.": "房间服务拒绝了连接。",
  "Could not reach the room service.": "无法连接到房间服务。",
  "The room service sent a malformed answer.": "房间服务发来的应答格式有误。",
  // the TV page
  "castapp — TV": "castapp — 电视",
  "Cast to this screen with the code": "用投屏码投屏到这块屏幕",
  "QR code: scan to open the cast page with the code filled in": "二维码：扫描后打开已填好投屏码的投屏页面",
  "Connecting to the room service…": "正在连接房间服务…",
  "Click or press Enter for full screen.": "点击或按 Enter 键全屏。",
  "Reconnecting…": "正在重新连接…",
  "A sender could not pair with this TV.": "有发送端无法与这台电视配对。",
  "A sender did not finish pairing. Ready for the next one.": "有发送端没有完成配对。已准备好接待下一位。",
  "Pairing with {name}…": "正在与 {name} 配对…",
  "a sender": "一位发送者",
  "Someone": "某人",
  "The cast was lost. Cast again with the code.": "投屏中断了。请用投屏码重新投屏。",
  "A sender's offer could not be used.": "无法使用发送端的连接请求。",
  "{name} is casting.": "{name} 正在投屏。",
  "{name} is casting from a browser (not verified).": "{name} 正在从浏览器投屏（未验证）。",
  "{name} is casting": "{name} 正在投屏",
  "{name} is casting from a browser — not verified": "{name} 正在从浏览器投屏 — 未验证",
  "The cast ended.": "投屏已结束。",
  "The sender left.": "发送者已离开。",
  "Codes are being guessed here: senders also need PIN {pin}.": "有人在这里猜测投屏码：发送者还需要输入 PIN {pin}。",
  "Lost the room service. Reconnecting…": "与房间服务的连接断开了。正在重新连接…",
  "Ready. Open the link in the QR code, or type the code in castapp.": "就绪。打开二维码中的链接，或在 castapp 中输入投屏码。",
  "Could not register with the room service ({reason}). Retrying…": "无法在房间服务上注册（{reason}）。正在重试…",
};

function pick(languages) {
  for (const lang of languages) {
    const l = String(lang || "").toLowerCase();
    if (l.startsWith("zh")) return "zh-CN";
    if (l.startsWith("en")) return "en";
  }
  return "en";
}

export const LANG = pick(navigator.languages && navigator.languages.length
  ? navigator.languages : [navigator.language]);

// The text in the page's language, its {fields} filled from `args`.
export function t(text, args = {}) {
  const words = (LANG === "zh-CN" && Object.prototype.hasOwnProperty.call(ZH, text)) ? ZH[text] : text;
  return words.replace(/\{(\w+)\}/g, (whole, key) => (key in args ? String(args[key]) : whole));
}

const squash = (s) => String(s || "").replace(/\s+/g, " ").trim();

// Translate the page's marked texts (once, at load).
export function translatePage() {
  document.documentElement.lang = LANG;
  document.title = t(squash(document.title));
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(squash(el.textContent));
  for (const el of document.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.placeholder);
  for (const el of document.querySelectorAll("[data-t-alt]")) el.alt = t(el.alt);
}
