// framewire page, part 7 of 9: clips of alert events (POST /api/clips, /api/snapshot).
// Each alert item gets its event's best frame as a thumbnail, Play (a clip job, followed
// until done, shown in a dialog) and Download. Snapshots and clips are fetched with the
// bearer header and shown through object URLs: the token never goes into a URL.
"use strict";

(() => {
  const { $, el, api, errorText } = window.fw;
  const CLIP = { pre_s: 5, post_s: 10, boxes: true };
  const POLL_MS = 500;
  const POLL_LIMIT = 360; // 3 min: up to 60 s of post-roll wait, then the cutting
  const STATE_TEXT = { queued: "queued", waiting: "waiting for the post-roll", running: "cutting" };

  async function fetchBlob(path) {
    const response = await api(path, { cache: "no-store" });
    if (!response.ok) throw new Error(await errorText(response));
    return { blob: await response.blob(), response };
  }

  // Fetched when the item comes near the view (within 200 px), not for all 50 alerts at once.
  const lazy = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      lazy.unobserve(entry.target);
      loadThumb(entry.target);
    }
  }, { rootMargin: "200px 0px" });

  async function loadThumb(img) {
    try {
      const { blob } = await fetchBlob(`/api/snapshot?event=${encodeURIComponent(img.dataset.event)}`);
      img.src = URL.createObjectURL(blob);
      img.classList.remove("thumb-wait");
    } catch (err) {
      const failed = el("span", "thumb thumb-failed", "no frame");
      failed.title = err.message;
      img.replaceWith(failed);
    }
  }

  function thumb(event) {
    const img = el("img", "thumb thumb-wait");
    img.alt = `best frame of ${event}`;
    img.dataset.event = event;
    lazy.observe(img);
    return img;
  }

  // Follows one job until done; a failed or expired job throws with the server's reason.
  async function followJob(job, show) {
    for (let i = 0; i < POLL_LIMIT; i += 1) {
      if (job.state === "done") return job;
      if (job.state === "failed" || job.state === "expired") throw new Error(job.error || `clip ${job.state}`);
      const done = job.state === "running" ? ` ${Math.round((job.progress || 0) * 100)} %` : "…";
      show(`${STATE_TEXT[job.state] || job.state}${done}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const response = await api(`/api/clips/${job.id}`, { cache: "no-store" });
      if (!response.ok) throw new Error(await errorText(response));
      job = await response.json();
    }
    throw new Error(`clip not ready after ${(POLL_LIMIT * POLL_MS) / 1000} s`);
  }

  async function askClip(event, show) {
    show("asking for a clip…");
    const response = await api("/api/clips", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event, ...CLIP }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    return followJob(await response.json(), show);
  }

  function fileName(response, job) {
    const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    return match ? match[1] : `${job.stream}-${job.id}.mp4`;
  }

  // ---- The video dialog ------------------------------------------------------------------
  function openPlayer(job, blob, event) {
    const dialog = $("clip-dialog");
    const video = $("clip-video");
    closePlayer();
    video.src = URL.createObjectURL(blob);
    $("clip-title").textContent = event;
    const gaps = job.gaps && job.gaps.length ? ` · ${job.gaps.length} gap(s)` : "";
    $("clip-facts").textContent =
      `${job.frames} frames · ${job.duration_s} s · ${job.width}×${job.height}${gaps}`;
    $("clip-facts").className = "muted";
    dialog.showModal();
    video.play().catch(() => { /* autoplay refused: the controls are there */ });
  }

  function closePlayer() {
    const video = $("clip-video");
    video.pause();
    if (video.src.startsWith("blob:")) URL.revokeObjectURL(video.src);
    video.removeAttribute("src");
    video.load();
  }

  // ---- One alert item's controls -----------------------------------------------------------
  class EventClip {
    constructor(event) {
      this.event = event;
      this.job = null; // the done job, reused by Play and Download
      this.node = el("div", "alert-clip");
      this.play = el("button", "small", "Play");
      this.save = el("button", "small ghost", "Download");
      this.status = el("span", "clip-status muted");
      for (const b of [this.play, this.save]) b.type = "button";
      this.play.addEventListener("click", () => this.run((job) => this.show(job)));
      this.save.addEventListener("click", () => this.run((job) => this.download(job)));
      this.node.append(thumb(event), this.play, this.save, this.status);
    }

    say(text, error = false) {
      this.status.textContent = text;
      this.status.title = text;
      this.status.className = `clip-status ${error ? "error" : "muted"}`;
    }

    async run(then) {
      this.play.disabled = this.save.disabled = true;
      try {
        if (!this.job) this.job = await askClip(this.event, (text) => this.say(text));
        this.say(`fetching ${this.job.size_bytes} bytes…`);
        await then(this.job);
        this.say("");
      } catch (err) {
        this.job = null; // failed or expired: the next click asks again
        this.say(err.message, true);
      } finally {
        this.play.disabled = this.save.disabled = false;
      }
    }

    async show(job) {
      const { blob } = await fetchBlob(job.url);
      openPlayer(job, blob, this.event);
    }

    async download(job) {
      const { blob, response } = await fetchBlob(`${job.url}?download=1`);
      const link = el("a");
      link.href = URL.createObjectURL(blob);
      link.download = fileName(response, job);
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    }
  }

  // Called by the alerts panel for each transition that names its firing.
  function eventClip(event) {
    return new EventClip(event).node;
  }

  // Called when alert items leave the list: their thumbnails' object URLs go too.
  function releaseClips(node) {
    for (const img of node.querySelectorAll("img.thumb")) {
      lazy.unobserve(img);
      if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    }
  }

  // The browser refused or could not decode the clip: say so instead of a spinner forever.
  function playError() {
    const { error } = $("clip-video");
    if (!error || !$("clip-dialog").open) return;
    $("clip-facts").textContent = `the browser cannot play this clip: ${error.message || `error ${error.code}`}`;
    $("clip-facts").className = "error";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("clip-video").addEventListener("error", playError);
    $("clip-dialog").addEventListener("close", closePlayer);
    $("clip-close").addEventListener("click", () => $("clip-dialog").close());
  });

  Object.assign(window.fw, { eventClip, releaseClips });
})();
