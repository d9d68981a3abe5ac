/*
 * The demo chat page: plays a Telegram private chat against the stand-in's control API.
 *
 * Safety rule for this file: message content (text, captions, button labels, file names, URLs)
 * is NEVER turned into markup. Everything is built with createElement / textContent, and links
 * are only made from http(s)/mailto/tel URLs.
 */
"use strict";

(() => {
  const POLL_WAIT_S = 25;            // long-poll wait for new messages
  const REFRESH_MS = 3000;           // re-read recent messages (to see edits) this often ...
  const SLOW_REFRESH_MS = 15000;     // ... or this often when the server reports changes itself
  const FAST_REFRESH_MS = 500;       // ... and this often just after the user did something
  const FAST_WINDOW_MS = 8000;
  const REFRESH_WINDOW = 40;         // how many recent messages a refresh re-reads
  const TYPING_TIMEOUT_MS = 20000;   // stop showing "typing…" after this long without a reply
  const CALLBACK_BUSY_MS = 10000;
  const MIN_BACKOFF_MS = 1000;
  const MAX_BACKOFF_MS = 30000;
  const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
  const DEFAULT_PLACEHOLDER = "输入消息… Message";

  const $ = (id) => document.getElementById(id);
  const el = {
    botName: $("bot-name"),
    personaSelect: $("persona-select"),
    personaDesc: $("persona-desc"),
    banner: $("banner"),
    messages: $("messages"),
    emptyHint: $("empty-hint"),
    jumpNew: $("jump-new"),
    typing: $("typing"),
    replyKbArea: $("reply-kb-area"),
    replyKb: $("reply-kb"),
    kbToggle: $("kb-toggle"),
    kbToggleZh: $("kb-toggle-zh"),
    kbToggleEn: $("kb-toggle-en"),
    startBtn: $("start-btn"),
    attachBtn: $("attach-btn"),
    input: $("text-input"),
    sendBtn: $("send-btn"),
    attachSheet: $("attach-sheet"),
    attachCaptionNote: $("attach-caption-note"),
    attachRecording: $("attach-recording"),
    attachRecordingNote: $("attach-recording-note"),
    filePhoto: $("file-photo"),
    filePhotoFile: $("file-photo-file"),
    fileVideo: $("file-video"),
    fileDocument: $("file-document"),
    contactSheet: $("contact-sheet"),
    contactPhone: $("contact-phone"),
    contactOk: $("contact-ok"),
    contactCancel: $("contact-cancel"),
    alertSheet: $("alert-sheet"),
    alertText: $("alert-text"),
    alertOk: $("alert-ok"),
    viewer: $("viewer"),
    viewerImg: $("viewer-img"),
    viewerClose: $("viewer-close"),
    toast: $("toast"),
  };

  const state = {
    config: null,
    persona: null,
    generation: 0,
    abort: null,
    messages: new Map(),      // message_id -> {data, key, node}
    lastId: 0,                // highest message_id seen by polling
    loaded: false,            // first successful fetch done for this chat
    serverKeyboard: undefined, // chat-level keyboard from the control API, when it reports one
    forceReply: null,         // the latest bot message's ForceReply, if it is the latest markup
    legacyPolling: false,     // the server gives no chat version: poll by after_id and refresh
    keyboard: null,           // {markup, sourceId}
    keyboardHiddenFor: null,  // sourceId of a keyboard the user folded away
    seenAnswers: new Set(),
    orphanAnswers: new Map(), // callback_query_id -> answer that came before its press returned
    pendingCallbacks: new Map(), // callback_query_id -> {button, timer}
    typing: {active: false, afterId: 0, editWatch: false, timer: null, serverAction: false},
    fastUntil: 0,
    wake: null,
    online: true,
  };

  // ---------------------------------------------------------------- helpers

  const sleep = (ms, signal) => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, {once: true});
  });

  class HttpError extends Error {
    constructor(status, description) {
      super(description || `HTTP ${status}`);
      this.status = status;
      this.description = description || "";
    }
  }

  async function request(url, {method = "GET", json, form, signal, timeoutMs = 30000} = {}) {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    if (signal) {
      if (signal.aborted) controller.abort();
      signal.addEventListener("abort", onAbort, {once: true});
    }
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const init = {method, signal: controller.signal, cache: "no-store", credentials: "same-origin", headers: {}};
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form !== undefined) {
      init.body = form;
    }
    try {
      const response = await fetch(url, init);
      let body = null;
      const type = response.headers.get("Content-Type") || "";
      if (type.includes("json")) {
        try { body = await response.json(); } catch (_) { body = null; }
      }
      if (!response.ok || (body && body.ok === false)) {
        const description = body && (body.description || body.error || body.message);
        throw new HttpError(response.status, typeof description === "string" ? description : "");
      }
      return body || {};
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
    }
  }

  function text(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }

  /** "中文 English" label made of two spans (the English one a little lighter). */
  function bilingual(zh, en) {
    const frag = document.createDocumentFragment();
    const zhSpan = text("span", "", zh);
    zhSpan.lang = "zh-Hans";
    const enSpan = text("span", "en", en);
    enSpan.lang = "en";
    frag.append(zhSpan, " ", enSpan);
    return frag;
  }

  // Icons are drawn, not emoji: many phones (and this page's test browser) lack emoji fonts.
  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    document: [["path", {d: "M6 3h8l4 4v14H6z"}], ["path", {d: "M14 3v4h4"}], ["path", {d: "M9 12h6M9 16h6"}]],
    phone: [["path", {d: "M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2z"}]],
    pin: [["path", {d: "M12 21s-7-6.2-7-11a7 7 0 0 1 14 0c0 4.8-7 11-7 11z"}], ["circle", {cx: 12, cy: 10, r: 2.5}]],
    play: [["path", {d: "M8 5l11 7-11 7z"}]],
    pause: [["path", {d: "M8 5v14M16 5v14"}]],
    external: [["path", {d: "M14 4h6v6"}], ["path", {d: "M20 4l-9 9"}], ["path", {d: "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"}]],
  };

  function icon(name, className = "icon") {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", className);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (const [tag, attrs] of ICONS[name] || []) {
      const shape = document.createElementNS(SVG_NS, tag);
      for (const [key, value] of Object.entries(attrs)) shape.setAttribute(key, String(value));
      svg.append(shape);
    }
    return svg;
  }

  function visuallyHidden(content) {
    return text("span", "visually-hidden", content);
  }

  /** A URL safe to put in href, or null. */
  function safeUrl(raw, {allowRelative = false} = {}) {
    if (typeof raw !== "string" || !raw.trim()) return null;
    let url;
    try {
      url = new URL(raw.trim(), allowRelative ? window.location.href : undefined);
    } catch (_) {
      try { url = new URL("http://" + raw.trim()); } catch (_e) { return null; }
    }
    if (!["http:", "https:", "mailto:", "tel:"].includes(url.protocol)) return null;
    if (allowRelative && url.origin !== window.location.origin && !/^(https?|mailto|tel):/i.test(raw.trim())) {
      return null;
    }
    return url.href;
  }

  function formatTime(unix) {
    if (!unix) return "";
    const d = new Date(unix * 1000);
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  function formatSize(bytes) {
    if (!Number.isFinite(bytes) || bytes <= 0) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  // ---------------------------------------------------------------- banner, toast, dialogs

  let bannerRetry = null;
  function showBanner(zh, en, {retry = false} = {}) {
    el.banner.replaceChildren(bilingual(zh, en));
    if (retry) {
      bannerRetry = bannerRetry || (() => {
        const b = text("button", "banner-retry");
        b.type = "button";
        b.append(bilingual("立即重试", "Retry now"));
        b.addEventListener("click", () => wakeUp());
        return b;
      })();
      el.banner.append(bannerRetry);
    }
    el.banner.hidden = false;
  }

  function hideBanner() {
    el.banner.hidden = true;
    el.banner.replaceChildren();
  }

  let toastTimer = null;
  function toast(content) {
    el.toast.replaceChildren();
    if (typeof content === "string") el.toast.textContent = content;
    else el.toast.append(content);
    el.toast.hidden = false;
    clearTimeout(toastTimer);
    const length = el.toast.textContent.length;
    toastTimer = setTimeout(() => { el.toast.hidden = true; }, Math.min(10000, 3000 + length * 80));
  }

  el.toast.addEventListener("click", () => { el.toast.hidden = true; });

  function openDialog(dialog) {
    if (typeof dialog.showModal === "function") {
      if (!dialog.open) dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
  }

  function closeDialog(dialog) {
    if (typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
  }

  function showAlert(message) {
    el.alertText.textContent = message;
    openDialog(el.alertSheet);
    el.alertOk.focus();
  }
  el.alertOk.addEventListener("click", () => closeDialog(el.alertSheet));

  function openViewer(src, alt) {
    el.viewerImg.src = src;
    el.viewerImg.alt = alt || "图片 Picture";
    openDialog(el.viewer);
    el.viewerClose.focus();
  }
  el.viewerClose.addEventListener("click", () => closeDialog(el.viewer));
  el.viewer.addEventListener("click", (event) => {
    if (event.target === el.viewer || event.target === el.viewerImg) closeDialog(el.viewer);
  });
  el.viewer.addEventListener("close", () => { el.viewerImg.removeAttribute("src"); });

  // ---------------------------------------------------------------- typing hint

  /** Show "typing…" until the bot sends a message after `afterId` (or, with editWatch, edits one). */
  function showTyping(afterId, {editWatch = false} = {}) {
    const t = state.typing;
    t.active = true;
    t.afterId = afterId;
    t.editWatch = editWatch;
    el.typing.hidden = false;
    clearTimeout(t.timer);
    t.timer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    state.fastUntil = Date.now() + FAST_WINDOW_MS;
  }

  function hideTyping() {
    const t = state.typing;
    t.active = false;
    clearTimeout(t.timer);
    el.typing.hidden = !t.serverAction;
  }

  let serverTypingTimer = null;
  function setServerTyping(on, forMs = 5000) {
    clearTimeout(serverTypingTimer);
    state.typing.serverAction = on;
    el.typing.hidden = !(on || state.typing.active);
    if (on) serverTypingTimer = setTimeout(() => setServerTyping(false), forMs);
  }

  // ---------------------------------------------------------------- rich text (entities)

  function entityElement(entity, segment) {
    switch (entity.type) {
      case "bold": return document.createElement("strong");
      case "italic": return document.createElement("em");
      case "underline": return document.createElement("u");
      case "strikethrough": return document.createElement("s");
      case "code": return text("code", "inline-code");
      case "pre": return text("pre", "pre-block");
      case "blockquote":
      case "expandable_blockquote": return document.createElement("blockquote");
      case "spoiler": {
        const s = text("span", "spoiler");
        s.title = "点按显示 Tap to show";
        s.addEventListener("click", () => s.classList.add("revealed"));
        return s;
      }
      case "text_link": {
        const href = safeUrl(entity.url);
        if (!href) return text("span", "link-like");
        return makeLink(href);
      }
      case "url": {
        const href = safeUrl(segment);
        return href ? makeLink(href) : document.createElement("span");
      }
      case "email": return makeLink("mailto:" + encodeURIComponent(segment).replace(/%40/g, "@"));
      case "phone_number": return makeLink("tel:" + segment.replace(/[^0-9+]/g, ""));
      case "bot_command": return text("span", "bot-command");
      case "mention":
      case "text_mention":
      case "hashtag":
      case "cashtag": return text("span", "mention");
      default: return document.createElement("span");
    }
  }

  function makeLink(href) {
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  /**
   * Text plus Bot API entities (offsets in UTF-16 code units, like JS strings) to DOM nodes.
   * Entities nest properly in Telegram; a crossing one is clipped to its parent.
   */
  function richText(source, entities, {commandsClickable = false} = {}) {
    const frag = document.createDocumentFragment();
    const str = typeof source === "string" ? source : "";
    const list = (Array.isArray(entities) ? entities : [])
      .filter((e) => e && Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0
        && e.offset >= 0 && e.offset < str.length)
      .map((e) => ({...e, end: Math.min(str.length, e.offset + e.length)}))
      .sort((a, b) => a.offset - b.offset || b.end - a.end);
    build(frag, list, 0, str.length);
    return frag;

    function build(parent, ents, start, end) {
      let pos = start;
      let i = 0;
      while (i < ents.length) {
        const e = ents[i];
        if (e.offset < pos) { i += 1; continue; }
        if (e.offset >= end) break;
        if (e.offset > pos) parent.append(str.slice(pos, e.offset));
        const eEnd = Math.min(e.end, end);
        const inner = [];
        let j = i + 1;
        while (j < ents.length && ents[j].offset < eEnd) {
          const c = ents[j];
          inner.push(c.end > eEnd ? {...c, end: eEnd} : c);
          j += 1;
        }
        const segment = str.slice(e.offset, eEnd);
        const node = entityElement(e, segment);
        if (e.type === "bot_command" && commandsClickable) {
          node.classList.add("clickable");
          node.setAttribute("role", "button");
          node.tabIndex = 0;
          const command = segment;
          const send = () => sendText(command);
          node.addEventListener("click", send);
          node.addEventListener("keydown", (ev) => {
            if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); send(); }
          });
        }
        build(node, inner, e.offset, eEnd);
        parent.append(node);
        pos = eEnd;
        i = j;
      }
      if (pos < end) parent.append(str.slice(pos, end));
    }
  }

  // ---------------------------------------------------------------- files

  /**
   * Where to download a file of this message: the control API's `files` list
   * ([{kind, file_id, url, ...}]; a {file_id: url} map is accepted too), or the default URL.
   */
  function fileUrl(message, fileId) {
    if (!fileId) return null;
    const files = message.files;
    let candidate = null;
    if (Array.isArray(files)) {
      const entry = files.find((f) => f && f.file_id === fileId);
      if (entry && typeof entry.url === "string") candidate = entry.url;
    } else if (files && typeof files === "object") {
      const entry = files[fileId];
      if (typeof entry === "string") candidate = entry;
      else if (entry && typeof entry.url === "string") candidate = entry.url;
    }
    const fallback = `/control/files/${encodeURIComponent(fileId)}`;
    if (!candidate) return fallback;
    // Only same-origin URLs: the page never loads anything from elsewhere.
    try {
      const url = new URL(candidate, window.location.href);
      return url.origin === window.location.origin ? url.pathname + url.search : fallback;
    } catch (_) {
      return fallback;
    }
  }

  function pictureButton(src, fullSrc, alt, width, height) {
    const button = text("button", "picture-btn");
    button.type = "button";
    button.setAttribute("aria-label", `${alt}（点按查看大图 Tap to view full size）`);
    const img = document.createElement("img");
    img.className = "picture";
    img.src = src;
    img.alt = alt;
    img.decoding = "async";
    if (width && height) {
      img.width = width;
      img.height = height;
    }
    img.addEventListener("load", keepBottomIfPinned);
    img.addEventListener("error", () => {
      button.replaceChildren(text("span", "media-missing", "图片无法显示 Picture not available"));
    });
    button.append(img);
    button.addEventListener("click", () => openViewer(fullSrc || src, alt));
    return button;
  }

  /** A round video message: native controls would be cut by the circle, so one big labelled button. */
  function videoNote(src, label) {
    const box = text("div", "video-note-box");
    const video = document.createElement("video");
    video.className = "video-note";
    video.src = src;
    video.playsInline = true;
    video.preload = "metadata";
    video.setAttribute("aria-label", label);
    const button = text("button", "video-note-btn");
    button.type = "button";
    const paint = () => {
      const playing = !video.paused && !video.ended;
      button.replaceChildren(icon(playing ? "pause" : "play"),
        bilingual(playing ? "暂停" : "播放", playing ? "Pause" : "Play"));
    };
    const toggle = () => {
      if (video.paused || video.ended) video.play().catch(() => toast("视频无法播放 The video cannot be played"));
      else video.pause();
    };
    button.addEventListener("click", toggle);
    video.addEventListener("click", toggle);
    for (const event of ["play", "pause", "ended"]) video.addEventListener(event, paint);
    paint();
    box.append(video, button);
    return box;
  }

  function pickPhoto(sizes) {
    const valid = (Array.isArray(sizes) ? sizes : []).filter((s) => s && s.file_id);
    if (!valid.length) return null;
    const byArea = [...valid].sort((a, b) => (a.width * a.height || 0) - (b.width * b.height || 0));
    const largest = byArea[byArea.length - 1];
    const inline = byArea.find((s) => Math.max(s.width || 0, s.height || 0) >= 640) || largest;
    return {inline, largest};
  }

  function renderMedia(message, fromBot) {
    const parts = [];
    const who = fromBot ? "机器人发来的" : "我发送的";
    const whoEn = fromBot ? "from the bot" : "I sent";
    const caption = typeof message.caption === "string" ? message.caption.trim() : "";

    if (Array.isArray(message.photo) && message.photo.length) {
      const pick = pickPhoto(message.photo);
      if (pick) {
        const alt = caption ? `${who}图片：${caption}` : `${who}图片 Picture ${whoEn}`;
        parts.push(pictureButton(fileUrl(message, pick.inline.file_id), fileUrl(message, pick.largest.file_id),
          alt, pick.inline.width, pick.inline.height));
      }
    }

    if (message.sticker && message.sticker.file_id) {
      const img = document.createElement("img");
      img.className = "sticker";
      img.src = fileUrl(message, message.sticker.file_id);
      img.alt = `贴纸 Sticker ${message.sticker.emoji || ""}`.trim();
      parts.push(img);
    }

    if (message.video_note && message.video_note.file_id) {
      parts.push(videoNote(fileUrl(message, message.video_note.file_id), `${who}圆形视频 Round video ${whoEn}`));
    }

    for (const kind of ["video", "animation"]) {
      const media = message[kind];
      if (media && media.file_id) {
        const video = document.createElement("video");
        video.className = "video";
        video.src = fileUrl(message, media.file_id);
        video.controls = true;
        video.playsInline = true;
        video.preload = "metadata";
        video.setAttribute("aria-label", `${who}视频 Video ${whoEn}`);
        parts.push(video);
      }
    }

    for (const kind of ["voice", "audio"]) {
      const media = message[kind];
      if (media && media.file_id) {
        const audio = document.createElement("audio");
        audio.className = "audio";
        audio.src = fileUrl(message, media.file_id);
        audio.controls = true;
        audio.preload = "none";
        audio.setAttribute("aria-label", `${who}语音 Audio ${whoEn}`);
        parts.push(audio);
      }
    }

    if (message.document && message.document.file_id && !message.animation) {
      const doc = message.document;
      const card = text("div", "doc-card");
      const url = fileUrl(message, doc.file_id);
      const isImage = typeof doc.mime_type === "string" && doc.mime_type.startsWith("image/");
      if (isImage) {
        const thumbId = doc.thumbnail && doc.thumbnail.file_id;
        const alt = `${who}图片文件 Picture file ${whoEn}: ${doc.file_name || ""}`.trim();
        card.append(pictureButton(thumbId ? fileUrl(message, thumbId) : url, url, alt,
          doc.thumbnail && doc.thumbnail.width, doc.thumbnail && doc.thumbnail.height));
      }
      const row = text("div", "doc-row");
      row.append(icon("document", "icon doc-icon"));
      const info = text("div", "doc-info");
      info.append(text("div", "doc-name", doc.file_name || "文件 File"));
      const size = formatSize(doc.file_size);
      if (size) info.append(text("div", "doc-size", size));
      row.append(info);
      const link = makeLink(url);
      link.className = "doc-open";
      link.setAttribute("download", doc.file_name || "");
      link.append(bilingual("打开", "Open"));
      link.setAttribute("aria-label", `打开文件 Open file ${doc.file_name || ""}`.trim());
      row.append(link);
      card.append(row);
      parts.push(card);
    }

    if (message.contact) {
      const c = message.contact;
      const card = text("div", "contact-card");
      card.append(icon("phone", "icon doc-icon"));
      const info = text("div", "doc-info");
      info.append(text("div", "doc-name", [c.first_name, c.last_name].filter(Boolean).join(" ") || "联系人 Contact"));
      info.append(text("div", "contact-phone", c.phone_number || ""));
      card.append(info);
      parts.push(card);
    }

    if (message.location) {
      const loc = message.location;
      const card = text("div", "contact-card");
      card.append(icon("pin", "icon doc-icon"), text("span", "", `位置 Location ${loc.latitude}, ${loc.longitude}`));
      parts.push(card);
    }

    return parts;
  }

  // ---------------------------------------------------------------- one message

  function messageKey(m) {
    return [m.revision ?? "", m.edited ? 1 : 0, m.edit_date ?? "", m.deleted ? 1 : 0].join("|");
  }

  function renderMessage(m) {
    const fromBot = Boolean(m.from_bot);
    const wrap = text("article", `msg ${fromBot ? "from-bot" : "from-me"}`);
    wrap.dataset.messageId = String(m.message_id);

    const bubble = text("div", "bubble");
    bubble.append(visuallyHidden(fromBot ? "机器人 Bot：" : "我 Me："));

    const quoted = m.reply_to_message;
    if (quoted && typeof quoted === "object") {
      const quote = text("div", "reply-quote");
      const who = quoted.from && quoted.from.is_bot ? "机器人 Bot" : "我 Me";
      let gist = quoted.text || quoted.caption || "";
      if (!gist) gist = quoted.photo ? "图片 Picture" : quoted.document ? "文件 File" : quoted.video_note ? "视频 Video" : "…";
      quote.append(text("span", "reply-who", `回复 Reply · ${who}`), text("span", "reply-gist", gist.slice(0, 80)));
      bubble.append(quote);
    }

    for (const part of renderMedia(m, fromBot)) bubble.append(part);

    const body = typeof m.text === "string" ? m.text : (typeof m.caption === "string" ? m.caption : "");
    const entities = typeof m.text === "string" ? m.entities : m.caption_entities;
    if (body) {
      const textNode = text("div", "msg-text");
      textNode.append(richText(body, entities, {commandsClickable: fromBot}));
      bubble.append(textNode);
    } else if (!bubble.querySelector(".picture-btn, video, audio, .doc-card, .contact-card, .sticker")) {
      bubble.append(text("div", "msg-text unsupported", "（暂不支持显示此消息 This message cannot be shown）"));
    }

    const meta = text("div", "meta");
    if (m.edited || m.edit_date) meta.append(text("span", "edited", "已编辑 edited"));
    const time = formatTime(m.date);
    if (time) {
      const t = text("time", "", time);
      t.dateTime = new Date(m.date * 1000).toISOString();
      meta.append(t);
    }
    bubble.append(meta);
    wrap.append(bubble);

    const markup = m.reply_markup;
    if (fromBot && markup && Array.isArray(markup.inline_keyboard) && markup.inline_keyboard.length) {
      wrap.append(renderInlineKeyboard(m, markup.inline_keyboard));
    }
    return wrap;
  }

  function renderInlineKeyboard(message, rows) {
    const box = text("div", "inline-kb");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "消息按钮 Message buttons");
    for (const row of rows) {
      if (!Array.isArray(row) || !row.length) continue;
      const rowNode = text("div", "kb-row");
      for (const button of row) {
        if (!button || typeof button.text !== "string") continue;
        rowNode.append(inlineButton(message, button));
      }
      box.append(rowNode);
    }
    return box;
  }

  function inlineButton(message, button) {
    if (typeof button.url === "string") {
      const href = safeUrl(button.url);
      if (href) {
        const a = makeLink(href);
        a.className = "kb-btn inline link";
        a.append(text("span", "", button.text), icon("external", "icon ext"));
        a.setAttribute("aria-label", `${button.text}（打开网页 opens a web page）`);
        return a;
      }
    }
    const b = text("button", "kb-btn inline", button.text);
    b.type = "button";
    if (typeof button.callback_data === "string") {
      b.addEventListener("click", () => pressCallback(message.message_id, button.callback_data, b));
    } else if (typeof button.copy_text === "object" && button.copy_text && typeof button.copy_text.text === "string") {
      b.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(button.copy_text.text);
          toast("已复制 Copied");
        } catch (_) {
          toast(button.copy_text.text);
        }
      });
    } else {
      b.addEventListener("click", () => toast("演示中不能使用这个按钮 This button does not work in the demo"));
    }
    return b;
  }

  // ---------------------------------------------------------------- message list

  function isPinnedToBottom() {
    const list = el.messages;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  }

  let pinned = true;
  function scrollToBottom() {
    el.messages.scrollTop = el.messages.scrollHeight;
    pinned = true;
    el.jumpNew.hidden = true;
  }

  function keepBottomIfPinned() {
    if (pinned) el.messages.scrollTop = el.messages.scrollHeight;
  }

  el.messages.addEventListener("scroll", () => {
    pinned = isPinnedToBottom();
    if (pinned) el.jumpNew.hidden = true;
  });
  el.jumpNew.addEventListener("click", scrollToBottom);

  /** Add or re-render one message; returns "new", "changed" or null. */
  function upsert(m) {
    if (!m || !Number.isInteger(m.message_id)) return null;
    const id = m.message_id;
    const key = messageKey(m);
    const existing = state.messages.get(id);
    if (m.deleted) {
      if (existing) removeMessage(id);
      return existing ? "changed" : null;
    }
    if (existing && existing.key === key && JSON.stringify(existing.data) === JSON.stringify(m)) return null;
    const node = renderMessage(m);
    if (existing) {
      existing.node.replaceWith(node);
      state.messages.set(id, {data: m, key, node});
      return "changed";
    }
    // Insert in message_id order (nearly always at the end).
    let before = null;
    for (const [otherId, other] of state.messages) {
      if (otherId > id && (!before || otherId < Number(before.dataset.messageId))) before = other.node;
    }
    el.messages.insertBefore(node, before);
    state.messages.set(id, {data: m, key, node});
    return "new";
  }

  function removeMessage(id) {
    const existing = state.messages.get(id);
    if (!existing) return;
    existing.node.remove();
    state.messages.delete(id);
  }

  function sortedIds() {
    return [...state.messages.keys()].sort((a, b) => a - b);
  }

  function updateEmptyState() {
    const empty = state.messages.size === 0;
    el.emptyHint.hidden = !empty || !state.loaded;
    el.startBtn.hidden = !empty || !state.loaded;
  }

  /** Take a control-API answer: messages (new or edited), callback answers, chat action, keyboard. */
  function ingest(data, {refreshFrom = null, requestLastId = 0} = {}) {
    const list = Array.isArray(data.messages) ? data.messages : [];
    const wasPinned = pinned || isPinnedToBottom();
    let added = false;
    let botReplied = false;
    let botEdited = false;
    for (const m of list) {
      const result = upsert(m);
      if (!result) continue;
      if (result === "new") added = true;
      if (m.from_bot && result === "new" && m.message_id > state.typing.afterId) botReplied = true;
      if (m.from_bot && result === "changed") botEdited = true;
      if (Number.isInteger(m.message_id) && m.message_id > state.lastId) state.lastId = m.message_id;
    }
    // A refresh re-reads everything after `refreshFrom`: what it no longer lists was deleted.
    if (refreshFrom !== null) {
      const present = new Set(list.map((m) => m && m.message_id));
      for (const id of [...state.messages.keys()]) {
        if (id > refreshFrom && id <= requestLastId && !present.has(id)) removeMessage(id);
      }
    }
    if ("keyboard" in data) state.serverKeyboard = data.keyboard;
    handleCallbackAnswers(data.callback_answers, !state.loaded);
    if ("chat_action" in data) {
      // sendChatAction: {action, until} (epoch seconds); shown for at most ~5 s, as Telegram does.
      const action = data.chat_action;
      const kind = action && (typeof action === "string" ? action : action.action);
      let seconds = 5;
      if (action && Number.isFinite(action.until)) seconds = action.until - Date.now() / 1000;
      setServerTyping(Boolean(kind), Math.min(6, Math.max(0.5, seconds)) * 1000);
    }
    if (botReplied || (botEdited && state.typing.editWatch)) hideTyping();
    if (botReplied && !("chat_action" in data && data.chat_action)) setServerTyping(false);
    state.loaded = true;
    updateEmptyState();
    updateReplyKeyboard();
    if (added) {
      if (wasPinned) scrollToBottom();
      else el.jumpNew.hidden = false;
    }
  }

  /**
   * answerCallbackQuery texts ({callback_query_id, text, show_alert}). The stand-in lists every
   * answer of the chat each time: those present at the first load are history; a new one belongs
   * to a press of this page (possibly one whose POST has not returned yet: it waits for it).
   */
  function handleCallbackAnswers(answers, initial) {
    if (!Array.isArray(answers)) return;
    for (const answer of answers) {
      if (!answer) continue;
      const id = String(answer.callback_query_id ?? "");
      if (!id || state.seenAnswers.has(id)) continue;
      if (initial) {
        state.seenAnswers.add(id);
        continue;
      }
      const pending = state.pendingCallbacks.get(id);
      if (!pending) {
        state.orphanAnswers.set(id, answer);
        continue;
      }
      resolveCallback(id, pending, answer);
    }
  }

  function resolveCallback(id, pending, answer) {
    state.seenAnswers.add(id);
    state.orphanAnswers.delete(id);
    state.pendingCallbacks.delete(id);
    clearTimeout(pending.timer);
    pending.button.classList.remove("busy");
    pending.button.removeAttribute("aria-busy");
    const message = typeof answer.text === "string" ? answer.text.trim() : "";
    if (!message) return;
    if (answer.show_alert) showAlert(message);
    else toast(message);
  }

  // ---------------------------------------------------------------- reply keyboard

  /**
   * The reply keyboard on screen: the newest bot message that sent a keyboard, until one removes
   * it. The stand-in keeps reply keyboards beside the Message JSON (`reply_keyboard`, since the
   * Bot API never echoes them) and reports the chat's current one as `keyboard` (it also drops a
   * one_time_keyboard once the user answers); when it does, that is what is shown.
   */
  function currentReplyKeyboard() {
    let current = null;
    let forceReply = null;
    for (const id of sortedIds()) {
      const m = state.messages.get(id).data;
      if (!m.from_bot) continue;
      const markup = m.reply_keyboard || (m.reply_markup && !m.reply_markup.inline_keyboard ? m.reply_markup : null);
      if (!markup) continue;
      if (Array.isArray(markup.keyboard)) current = {markup, sourceId: id};
      else if (markup.remove_keyboard) current = null;
      forceReply = markup.force_reply ? markup : null;
    }
    if (state.serverKeyboard !== undefined) {
      const k = state.serverKeyboard;
      if (k && Array.isArray(k.keyboard)) {
        const sourceId = current && JSON.stringify(current.markup.keyboard) === JSON.stringify(k.keyboard)
          ? current.sourceId : JSON.stringify(k.keyboard);
        current = {markup: k, sourceId};
      } else {
        current = null;
      }
    }
    state.forceReply = forceReply;
    return current;
  }

  function updateReplyKeyboard() {
    const next = currentReplyKeyboard();
    const prev = state.keyboard;
    const same = prev && next && prev.sourceId === next.sourceId
      && JSON.stringify(prev.markup.keyboard) === JSON.stringify(next.markup.keyboard);
    if (!same) {
      state.keyboard = next;
      renderReplyKeyboard();
    }
    const hidden = !state.keyboard || state.keyboardHiddenFor === state.keyboard.sourceId;
    el.replyKbArea.hidden = !state.keyboard;
    el.replyKb.hidden = hidden;
    el.replyKbArea.classList.toggle("folded", hidden);
    el.kbToggle.setAttribute("aria-expanded", String(!hidden));
    el.kbToggleZh.textContent = hidden ? "展开" : "收起";
    el.kbToggleEn.textContent = hidden ? "Show" : "Hide";
    const placeholder = (state.keyboard && state.keyboard.markup.input_field_placeholder)
      || (state.forceReply && state.forceReply.input_field_placeholder);
    const wanted = typeof placeholder === "string" && placeholder ? placeholder : DEFAULT_PLACEHOLDER;
    if (el.input.placeholder !== wanted) {
      el.input.placeholder = wanted;
      autoGrow();
    }
  }

  function renderReplyKeyboard() {
    el.replyKb.replaceChildren();
    if (!state.keyboard) return;
    const {markup, sourceId} = state.keyboard;
    for (const row of markup.keyboard) {
      if (!Array.isArray(row) || !row.length) continue;
      const rowNode = text("div", "kb-row");
      for (const raw of row) {
        const button = typeof raw === "string" ? {text: raw} : raw;
        if (!button || typeof button.text !== "string") continue;
        const b = text("button", "kb-btn reply");
        b.type = "button";
        if (button.request_contact) {
          b.classList.add("contact");
          b.append(icon("phone"), text("span", "", button.text));
          b.addEventListener("click", () => openContactDialog(sourceId, markup));
        } else if (button.request_location || button.request_poll || button.request_users
          || button.request_chat || button.web_app) {
          b.textContent = button.text;
          b.addEventListener("click", () => toast("演示中不能使用这个按钮 This button does not work in the demo"));
        } else {
          b.textContent = button.text;
          b.addEventListener("click", async () => {
            const ok = await sendText(button.text);
            if (ok && markup.one_time_keyboard) foldKeyboard(sourceId);
          });
        }
        rowNode.append(b);
      }
      el.replyKb.append(rowNode);
    }
  }

  function foldKeyboard(sourceId) {
    state.keyboardHiddenFor = sourceId;
    updateReplyKeyboard();
  }

  el.kbToggle.addEventListener("click", () => {
    if (!state.keyboard) return;
    state.keyboardHiddenFor = el.replyKb.hidden ? null : state.keyboard.sourceId;
    updateReplyKeyboard();
    if (!el.replyKb.hidden) keepBottomIfPinned();
  });

  // ---------------------------------------------------------------- sending

  function userJson() {
    const p = state.persona;
    return {id: p.chat_id, first_name: p.first_name || p.label, language_code: p.language_code || "zh-hans"};
  }

  function sendFailed(error) {
    const detail = error && error.description ? `（${error.description}）` : "";
    if (error instanceof HttpError) {
      toast(`发送失败，请重试 Could not send, please try again ${detail}`.trim());
    } else {
      toast("无法连接服务器，请稍后再试 Cannot reach the server, please try again");
    }
  }

  /** Show the message the control API just created, before the poll brings it. */
  function adoptSent(result) {
    if (result && result.message && Number.isInteger(result.message.message_id)) {
      const m = {...result.message};
      if (m.from_bot === undefined) m.from_bot = false;
      upsert(m);
      state.loaded = true;
      updateEmptyState();
      scrollToBottom();
      return m.message_id;
    }
    return state.lastId;
  }

  let sending = false;
  async function sendText(raw) {
    const content = String(raw ?? "").trim();
    if (!content || !state.persona) return false;
    const gen = state.generation;
    sending = true;
    el.sendBtn.setAttribute("aria-busy", "true");
    try {
      const result = await request("/control/updates/message", {
        method: "POST",
        json: {chat_id: state.persona.chat_id, text: content, user: userJson()},
      });
      if (gen !== state.generation) return false;
      showTyping(adoptSent(result));
      wakeUp();
      return true;
    } catch (error) {
      sendFailed(error);
      return false;
    } finally {
      sending = false;
      el.sendBtn.removeAttribute("aria-busy");
    }
  }

  async function sendFromInput() {
    if (sending) return;
    const value = el.input.value;
    if (!value.trim()) {
      el.input.focus();
      return;
    }
    const ok = await sendText(value);
    if (ok) {
      el.input.value = "";
      autoGrow();
    }
  }

  el.sendBtn.addEventListener("click", sendFromInput);
  el.startBtn.addEventListener("click", () => sendText("/start"));
  el.input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter makes a new line; never while an IME (e.g. pinyin) is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendFromInput();
    }
  });

  /** Fit the box to its text, or to its placeholder while empty (a bot's hint must not be cut off). */
  function autoGrow() {
    const input = el.input;
    input.style.height = "auto";
    let height = input.scrollHeight;
    if (!input.value && input.placeholder) {
      input.value = input.placeholder;
      height = input.scrollHeight;
      input.value = "";
    }
    input.style.height = `${Math.min(height + 4, 160)}px`;
  }
  el.input.addEventListener("input", autoGrow);
  window.addEventListener("resize", autoGrow);

  async function pressCallback(messageId, data, button) {
    if (!state.persona || button.classList.contains("busy")) return;
    const gen = state.generation;
    button.classList.add("busy");
    button.setAttribute("aria-busy", "true");
    const clear = () => {
      button.classList.remove("busy");
      button.removeAttribute("aria-busy");
    };
    try {
      const result = await request("/control/updates/callback", {
        method: "POST",
        json: {chat_id: state.persona.chat_id, message_id: messageId, data},
      });
      if (gen !== state.generation) return;
      const id = String(result.callback_query_id ?? "");
      if (id) {
        const timer = setTimeout(() => { clear(); state.pendingCallbacks.delete(id); }, CALLBACK_BUSY_MS);
        const pending = {button, timer};
        state.pendingCallbacks.set(id, pending);
        if (state.orphanAnswers.has(id)) resolveCallback(id, pending, state.orphanAnswers.get(id));
      } else {
        setTimeout(clear, 1500);
      }
      // The bot may answer with a new message or by editing this one: look often for a while.
      showTyping(state.lastId, {editWatch: true});
      wakeUp();
    } catch (error) {
      clear();
      sendFailed(error);
    }
  }

  // ---------------------------------------------------------------- attachments

  let pendingCaption = "";
  el.attachBtn.addEventListener("click", () => {
    el.attachCaptionNote.hidden = !el.input.value.trim();
    openDialog(el.attachSheet);
  });

  const attachInputs = {
    photo: el.filePhoto,
    photo_file: el.filePhotoFile,
    video_note: el.fileVideo,
    document: el.fileDocument,
  };

  for (const choice of el.attachSheet.querySelectorAll("[data-attach]")) {
    choice.addEventListener("click", () => {
      const kind = choice.dataset.attach;
      closeDialog(el.attachSheet);
      if (kind === "demo_recording") {
        sendDemoRecording();
        return;
      }
      const input = attachInputs[kind];
      if (!input) return;
      pendingCaption = el.input.value.trim();
      input.value = "";
      input.click();
    });
  }

  for (const [kind, input] of Object.entries(attachInputs)) {
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      if (file) uploadFile(kind, file, pendingCaption);
    });
  }

  /**
   * The demo's recording (a real person's clip, served by the demo at config.recording.url),
   * sent as a round video note like a file the visitor picked.
   */
  async function sendDemoRecording() {
    const recording = state.config && state.config.recording;
    if (!recording || !state.persona) return;
    try {
      const response = await fetch(recording.url, {cache: "no-store", credentials: "same-origin"});
      if (!response.ok) throw new HttpError(response.status, "");
      const blob = await response.blob();
      const file = new File([blob], recording.name || "demo.mp4", {type: "video/mp4"});
      await uploadFile("video_note", file, "");
    } catch (error) {
      sendFailed(error);
    }
  }

  function videoDuration(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const video = document.createElement("video");
      const done = (value) => {
        clearTimeout(timer);
        URL.revokeObjectURL(url);
        resolve(value);
      };
      const timer = setTimeout(() => done(null), 4000);
      video.preload = "metadata";
      video.muted = true;
      video.addEventListener("loadedmetadata", () => {
        done(Number.isFinite(video.duration) ? Math.max(1, Math.round(video.duration)) : null);
      });
      video.addEventListener("error", () => done(null));
      video.src = url;
    });
  }

  async function uploadFile(kind, file, caption) {
    if (!state.persona) return;
    if (file.size > MAX_UPLOAD_BYTES) {
      toast("文件太大（最大 50 MB）File too big (50 MB at most)");
      return;
    }
    const gen = state.generation;
    const form = new FormData();
    form.append("chat_id", String(state.persona.chat_id));
    let endpoint = "/control/updates/document";
    if (kind === "photo" || kind === "photo_file") {
      endpoint = "/control/updates/photo";
      if (kind === "photo_file") form.append("as_document", "1");
    } else if (kind === "video_note") {
      endpoint = "/control/updates/video_note";
      const duration = await videoDuration(file);
      if (duration) form.append("duration", String(duration));
    }
    if (caption && kind !== "video_note") form.append("caption", caption);
    form.append("file", file, file.name || "upload");

    const placeholder = text("div", "msg from-me pending");
    const bubble = text("div", "bubble");
    bubble.append(bilingual(`正在发送“${file.name || "文件"}”…`, "Sending…"));
    placeholder.append(bubble);
    el.messages.append(placeholder);
    scrollToBottom();
    try {
      const result = await request(endpoint, {method: "POST", form, timeoutMs: 120000});
      placeholder.remove();
      if (gen !== state.generation) return;
      if (caption && kind !== "video_note" && el.input.value.trim() === caption) {
        el.input.value = "";
        autoGrow();
      }
      showTyping(adoptSent(result));
      wakeUp();
    } catch (error) {
      placeholder.remove();
      sendFailed(error);
    }
  }

  // ---------------------------------------------------------------- sharing the phone number

  function openContactDialog() {
    el.contactPhone.value = (state.persona && state.persona.phone_number) || "";
    openDialog(el.contactSheet);
    el.contactPhone.focus();
  }

  el.contactCancel.addEventListener("click", () => closeDialog(el.contactSheet));
  el.contactOk.addEventListener("click", async () => {
    const phone = el.contactPhone.value.trim();
    if (!/^\+?[0-9][0-9 \-]{4,20}$/.test(phone)) {
      toast("请输入正确的手机号码 Please enter a valid phone number");
      el.contactPhone.focus();
      return;
    }
    closeDialog(el.contactSheet);
    const gen = state.generation;
    try {
      const result = await request("/control/updates/contact", {
        method: "POST",
        json: {
          chat_id: state.persona.chat_id,
          phone_number: phone.replace(/[ \-]/g, ""),
          first_name: state.persona.first_name || state.persona.label,
        },
      });
      if (gen !== state.generation) return;
      if (state.keyboard && state.keyboard.markup.one_time_keyboard) foldKeyboard(state.keyboard.sourceId);
      showTyping(adoptSent(result));
      wakeUp();
    } catch (error) {
      sendFailed(error);
    }
  });

  // ---------------------------------------------------------------- polling

  function wakeUp() {
    state.fastUntil = Math.max(state.fastUntil, Date.now() + FAST_WINDOW_MS);
    if (state.wake) state.wake();
  }

  function wakeableSleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        if (state.wake === finish) state.wake = null;
        resolve();
      }
      state.wake = finish;
      if (signal) signal.addEventListener("abort", finish, {once: true});
    });
  }

  function messagesUrl(query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) params.set(key, String(value));
    return `/control/chats/${encodeURIComponent(state.persona.chat_id)}/messages?${params}`;
  }

  function setOnline(online, retryInMs) {
    state.online = online;
    if (online) {
      hideBanner();
      return;
    }
    const seconds = Math.max(1, Math.round((retryInMs || 0) / 1000));
    showBanner(`无法连接服务器，${seconds} 秒后自动重试。`, `Cannot reach the server. Retrying in ${seconds} s.`,
      {retry: true});
  }

  /**
   * The main loop. The stand-in versions each chat: `since=<version>&wait=S` long-polls for any
   * change (new message, edit, callback answer, chat action) and returns just the messages that
   * changed. Without a version in the answer it falls back to `after_id=<last>&wait=S` (new
   * messages only), and the refresh loop picks up edits.
   */
  async function pollLoop(gen, signal) {
    let backoff = MIN_BACKOFF_MS;
    let version = null;
    while (gen === state.generation) {
      try {
        let query;
        if (version !== null) query = {since: version, wait: POLL_WAIT_S};
        else if (!state.loaded || !state.legacyPolling) query = {after_id: 0, wait: 0};
        else query = {after_id: state.lastId, wait: POLL_WAIT_S};
        const requestLastId = state.lastId;
        const data = await request(messagesUrl(query), {signal, timeoutMs: (POLL_WAIT_S + 15) * 1000});
        if (gen !== state.generation) return;
        if (Number.isInteger(data.version)) {
          if (version !== null && data.version < version) {
            // The server started afresh (a restart): start the conversation view over.
            resetChat();
            version = null;
            continue;
          }
          ingest(data, query.after_id === 0 ? {refreshFrom: 0, requestLastId} : {});
          version = data.version;
          state.legacyPolling = false;
        } else {
          ingest(data, query.after_id === 0 ? {refreshFrom: 0, requestLastId} : {});
          state.legacyPolling = true;
        }
        if (!state.online) setOnline(true);
        backoff = MIN_BACKOFF_MS;
      } catch (error) {
        if (gen !== state.generation) return;
        if (error instanceof HttpError && error.status === 404 && !state.loaded) {
          // No such chat yet: nothing said so far. Not an outage.
          ingest({messages: []});
          if (!state.online) setOnline(true);
          await wakeableSleep(2000, signal);
          continue;
        }
        const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
        setOnline(false, delay);
        await wakeableSleep(delay, signal);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  /**
   * Re-reads the recent messages now and then: catches edits when the server has no versions,
   * and messages that disappeared. Often just after the user did something, rarely otherwise.
   */
  async function refreshLoop(gen, signal) {
    let backoff = REFRESH_MS;
    while (gen === state.generation) {
      const fast = state.legacyPolling && Date.now() < state.fastUntil;
      const calm = state.legacyPolling ? REFRESH_MS : SLOW_REFRESH_MS;
      await sleep(fast ? FAST_REFRESH_MS : (state.online ? calm : Math.max(calm, backoff)), signal);
      if (gen !== state.generation) return;
      if (!state.loaded || (document.hidden && !fast)) continue;
      const ids = sortedIds();
      const from = ids.length > REFRESH_WINDOW ? ids[ids.length - REFRESH_WINDOW] - 1 : 0;
      const requestLastId = state.lastId;
      try {
        const data = await request(messagesUrl({after_id: from, wait: 0}), {signal, timeoutMs: 15000});
        if (gen !== state.generation) return;
        ingest(data, {refreshFrom: from, requestLastId});
        backoff = REFRESH_MS;
      } catch (_) {
        // The long poll reports outages; here just slow down.
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  // ---------------------------------------------------------------- personas

  function resetChat() {
    for (const {timer} of state.pendingCallbacks.values()) clearTimeout(timer);
    state.pendingCallbacks.clear();
    state.messages.clear();
    state.seenAnswers.clear();
    state.orphanAnswers.clear();
    state.lastId = 0;
    state.loaded = false;
    state.serverKeyboard = undefined;
    state.keyboard = null;
    state.keyboardHiddenFor = null;
    state.forceReply = null;
    setServerTyping(false);
    hideTyping();
    for (const node of [...el.messages.children]) {
      if (node !== el.emptyHint) node.remove();
    }
    updateEmptyState();
    updateReplyKeyboard();
  }

  function selectPersona(persona) {
    if (state.abort) state.abort.abort();
    state.generation += 1;
    state.persona = persona;
    state.abort = new AbortController();
    resetChat();
    el.input.value = "";
    autoGrow();
    el.personaSelect.value = String(persona.chat_id);
    el.personaDesc.replaceChildren(bilingual("当前身份", "Trying as"), document.createElement("br"),
      text("strong", "persona-name", persona.label || ""));
    if (persona.description) el.personaDesc.append(document.createElement("br"), persona.description);
    try { window.localStorage.setItem("demo.chat_id", String(persona.chat_id)); } catch (_) { /* private mode */ }
    if (window.location.hash !== `#chat=${persona.chat_id}`) {
      history.replaceState(null, "", `#chat=${persona.chat_id}`);
    }
    const gen = state.generation;
    const signal = state.abort.signal;
    pollLoop(gen, signal);
    refreshLoop(gen, signal);
  }

  function initialPersona(personas) {
    const fromHash = /^#chat=(\d+)$/.exec(window.location.hash || "");
    let wanted = fromHash ? fromHash[1] : null;
    if (!wanted) {
      try { wanted = window.localStorage.getItem("demo.chat_id"); } catch (_) { wanted = null; }
    }
    return personas.find((p) => String(p.chat_id) === wanted) || personas[0];
  }

  async function loadConfig() {
    let backoff = MIN_BACKOFF_MS;
    for (;;) {
      try {
        const config = await request("/demo/personas", {timeoutMs: 10000});
        const personas = (Array.isArray(config.personas) ? config.personas : [])
          .filter((p) => p && Number.isInteger(p.chat_id));
        if (!personas.length) throw new Error("no personas");
        hideBanner();
        const recording = config.recording && typeof config.recording.url === "string" ? {
          url: config.recording.url,
          name: typeof config.recording.name === "string" ? config.recording.name : "",
          note: typeof config.recording.note === "string" ? config.recording.note : "",
        } : null;
        return {botName: typeof config.bot_name === "string" ? config.bot_name : "", personas, recording};
      } catch (_) {
        const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
        setOnline(false, delay);
        await wakeableSleep(delay);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  async function main() {
    const config = await loadConfig();
    state.online = true;
    state.config = config;
    if (config.botName) {
      el.botName.textContent = config.botName;
      document.title = `${config.botName} · 聊天演示 Chat demo`;
    }
    if (config.recording) {
      el.attachRecording.hidden = false;
      el.attachRecordingNote.textContent = config.recording.note;
      el.attachRecordingNote.hidden = !config.recording.note;
    }
    el.personaSelect.replaceChildren();
    for (const persona of config.personas) {
      const option = text("option", "", persona.label || `Chat ${persona.chat_id}`);
      option.value = String(persona.chat_id);
      el.personaSelect.append(option);
    }
    el.personaSelect.closest(".persona-row").hidden = config.personas.length < 2;
    el.personaSelect.addEventListener("change", () => {
      const persona = config.personas.find((p) => String(p.chat_id) === el.personaSelect.value);
      if (persona && persona !== state.persona) selectPersona(persona);
    });
    window.addEventListener("hashchange", () => {
      const persona = initialPersona(config.personas);
      if (persona && persona !== state.persona) selectPersona(persona);
    });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) wakeUp(); });
    selectPersona(initialPersona(config.personas));
  }

  main();
})();
