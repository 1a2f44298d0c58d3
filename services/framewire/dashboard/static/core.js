// framewire page, part 1 of 9: DOM helpers, HTTP with the bearer token, and server-sent
// events read with fetch() (not EventSource) so the token travels in a header, never in a
// URL where it would end up in logs. Shared through window.fw; no build step.
"use strict";

(() => {
  const TOKEN_KEY = "framewire.token";
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const fmt = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

  // ---- HTTP with the optional bearer token -------------------------------------------
  function authHeaders(extra = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  async function api(path, options = {}) {
    const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
    if (response.status === 401) askForToken();
    return response;
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body.message) return body.message;
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) return body.detail.map((d) => `${d.loc.slice(-1)}: ${d.msg}`).join("; ");
    } catch (_) { /* not JSON */ }
    return `${response.status} ${response.statusText}`;
  }

  function askForToken() {
    const dialog = $("token-dialog");
    if (!dialog.open) dialog.showModal();
  }


  // ---- Server-sent events over fetch, with reconnect and Last-Event-ID ----------------
  class EventStream {
    constructor(path, handlers, { resume = false, onState = () => {} } = {}) {
      this.path = path;
      this.handlers = handlers;
      this.resume = resume;
      this.onState = onState;
      this.lastId = null;
      this.closed = false;
      this.controller = null;
      this.backoffMs = 250;
      this.run();
    }

    close() {
      this.closed = true;
      if (this.controller) this.controller.abort();
    }

    async run() {
      while (!this.closed) {
        this.onState("connecting");
        try {
          await this.readOnce();
        } catch (err) {
          if (this.closed) return;
        }
        if (this.closed) return;
        this.onState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, this.backoffMs));
        this.backoffMs = Math.min(this.backoffMs * 2, 3000);
      }
    }

    async readOnce() {
      this.controller = new AbortController();
      const headers = { Accept: "text/event-stream" };
      if (this.resume && this.lastId) headers["Last-Event-ID"] = this.lastId;
      const response = await api(this.path, { headers, signal: this.controller.signal, cache: "no-store" });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.onState("live");
      this.backoffMs = 250;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          this.dispatch(block);
        }
      }
    }

    dispatch(block) {
      let name = "message";
      let id = null;
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue; // heartbeat or comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (id !== null) this.lastId = id;
      if (!data.length) return;
      const handler = this.handlers[name] || this.handlers["*"];
      if (handler) handler(JSON.parse(data.join("\n")), name, id);
    }
  }


  window.fw = { $, el, fmt, api, errorText, askForToken, EventStream, TOKEN_KEY };
})();
