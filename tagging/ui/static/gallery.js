// The gallery: a page of images (all, those with one tag, or those with words read in
// them), cards that update as
// tagging completes (polling GET /batches/{id} while anything is queued), tag counts.
import { ApiError, request } from "./api.js";

const PAGE_SIZE = 24;
const POLL_MS = 1000;
const SLOW_POLL_MS = 4000;
const SLOW_AFTER_MS = 60000;
const BATCHES_PER_TICK = 4;
const CHIPS_ON_CARD = 6;

export class Gallery {
  /**
   * elements: {list, status, loadMore}; hooks: {onOpen(id, button), onSettled([{summary, uploadItem}]) when
   * images finish tagging, onChange() when tags changed, onError(error)}
   */
  constructor(elements, hooks) {
    this.el = elements;
    this.hooks = hooks;
    this.cards = new Map(); // image id -> {li, summary}
    this.pending = new Map(); // image id -> {batchId, summary, preview, polledAt}
    this.tag = null;
    this.text = null; // the words of a text search (as the app normalised them), or null
    this.continuation = null;
    this.timer = null;
    this.lastChange = Date.now();
    this.generation = 0;
  }

  get filter() {
    return this.tag;
  }

  /** Show the first page of all images, of images tagged ``tag``, or (``text``) of
   * images in which every word of ``text`` was read. */
  async load(tag, text = null) {
    this.tag = tag || null;
    this.text = text ? [text] : null;
    this.continuation = null;
    const generation = ++this.generation;
    this.el.status.textContent = this.tag || text ? `Searching for “${this.tag || text}”…` : "Loading…";
    let page;
    try {
      page = await request("GET", "images", { limit: PAGE_SIZE, tag: this.tag, text: this.textQuery() });
    } catch (error) {
      if (generation === this.generation) {
        this.el.status.textContent = "";
        this.hooks.onError(error);
      }
      return false;
    }
    if (generation !== this.generation) return false;
    if (page.tag) this.tag = page.tag;
    if (page.text) this.text = page.text;
    for (const { li } of this.cards.values()) li.remove();
    this.cards.clear();
    // Images still being tagged are shown first when they match (uploads of this page).
    for (const entry of this.pending.values()) {
      if (this.matches(entry.summary)) this.upsert(entry.summary, { preview: entry.preview });
    }
    this.append(page);
    this.describe();
    return true;
  }

  async loadMore() {
    if (!this.continuation) return;
    const generation = this.generation;
    try {
      const page = await request("GET", "images", {
        limit: PAGE_SIZE, tag: this.tag, text: this.textQuery(), continuation: this.continuation,
      });
      if (generation === this.generation) {
        const firstNew = page.images.find((image) => !this.cards.has(image.id));
        this.append(page);
        this.describe();
        if (firstNew) this.cards.get(firstNew.id)?.li.querySelector("button")?.focus();
      }
    } catch (error) {
      this.hooks.onError(error);
    }
  }

  append(page) {
    for (const summary of page.images) {
      this.upsert(summary);
      if (summary.status === "queued") this.track(summary);
    }
    this.continuation = page.continuation || null;
    this.el.loadMore.hidden = !this.continuation;
  }

  textQuery() {
    return this.text ? this.text.join(" ") : null;
  }

  /** "3 images tagged “cat”." and the like. */
  summary() {
    const count = this.cards.size;
    const what = this.text ? ` with the text “${this.textQuery()}”` : this.tag ? ` tagged “${this.tag}”` : "";
    if (count === 0 && what) return `No images${what}.`;
    return count === 0 ? "No images yet: upload some."
      : `${count} image${count === 1 ? "" : "s"}${what}${this.continuation ? " (more available)" : ""}.`;
  }

  describe() {
    this.el.status.textContent = this.summary();
  }

  matches(summary) {
    // A listing carries no read words: uploads in flight are not shown in a text search.
    if (this.text) return false;
    return !this.tag || summary.tags.some((tag) => tag.name === this.tag);
  }

  /** A freshly uploaded image: shown at once (with a local preview), then tracked. */
  added(image, batchId, preview, uploadItem) {
    const summary = {
      id: image.id, filename: image.filename, status: image.status || "queued", batch_id: batchId,
      uploaded_at: new Date().toISOString(), tagged_at: null, tags: [], error: null, thumbnail_url: null,
    };
    this.track(summary, preview, uploadItem);
    if (this.matches(summary)) {
      this.upsert(summary, { preview, prepend: true });
      this.describe();
    }
  }

  track(summary, preview = null, uploadItem = null) {
    this.pending.set(summary.id, { batchId: summary.batch_id, summary, preview, uploadItem, polledAt: 0 });
    this.lastChange = Date.now();
    this.schedule(POLL_MS);
  }

  schedule(delay) {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poll();
    }, delay);
  }

  async poll() {
    const batches = new Map(); // batch id -> oldest polledAt among its pending images
    for (const entry of this.pending.values()) {
      const seen = batches.get(entry.batchId);
      batches.set(entry.batchId, seen === undefined ? entry.polledAt : Math.min(seen, entry.polledAt));
    }
    const due = [...batches.entries()].sort((a, b) => a[1] - b[1]).slice(0, BATCHES_PER_TICK).map(([id]) => id);
    await Promise.all(due.map((batchId) => this.pollBatch(batchId)));
    const idle = Date.now() - this.lastChange > SLOW_AFTER_MS;
    this.schedule(idle ? SLOW_POLL_MS : POLL_MS);
  }

  async pollBatch(batchId) {
    let batch;
    try {
      batch = await request("GET", `batches/${encodeURIComponent(batchId)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        for (const [id, entry] of this.pending) if (entry.batchId === batchId) this.pending.delete(id);
      } else {
        for (const entry of this.pending.values()) if (entry.batchId === batchId) entry.polledAt = Date.now();
      }
      return;
    }
    const now = Date.now();
    const settled = [];
    for (const summary of batch.images) {
      const entry = this.pending.get(summary.id);
      if (!entry) continue;
      entry.polledAt = now;
      if (summary.status === "queued") continue;
      this.pending.delete(summary.id);
      this.lastChange = now;
      settled.push({ summary, uploadItem: entry.uploadItem });
      if (this.matches(summary)) this.upsert(summary, { preview: entry.preview });
      else this.removeCard(summary.id);
      if (entry.preview && summary.thumbnail_url) setTimeout(() => URL.revokeObjectURL(entry.preview), 5000);
    }
    if (settled.length) {
      this.describe();
      this.hooks.onSettled(settled);
      this.hooks.onChange();
    }
  }

  upsert(summary, { preview = null, prepend = false } = {}) {
    const existing = this.cards.get(summary.id);
    const li = this.renderCard(summary, preview || existing?.preview);
    if (existing) existing.li.replaceWith(li);
    else if (prepend) this.el.list.prepend(li);
    else this.el.list.append(li);
    // Keep keyboard focus on the card that was just re-rendered.
    if (existing && existing.li.contains(document.activeElement)) li.querySelector("button").focus();
    this.cards.set(summary.id, { li, summary, preview: preview || existing?.preview || null });
  }

  removeCard(id) {
    const card = this.cards.get(id);
    if (!card) return null;
    const next = card.li.nextElementSibling || card.li.previousElementSibling;
    card.li.remove();
    this.cards.delete(id);
    return next ? next.querySelector("button") : null;
  }

  /** After a delete: forget the image; returns the element that should get focus. */
  deleted(id) {
    this.pending.delete(id);
    const next = this.removeCard(id);
    this.describe();
    return next;
  }

  renderCard(summary, preview) {
    const li = document.createElement("li");
    li.className = "card";
    li.dataset.id = summary.id;
    li.dataset.status = summary.status;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "card-open";
    const src = summary.thumbnail_url || preview;
    let visual;
    if (src) {
      visual = document.createElement("img");
      visual.className = "card-thumb";
      visual.alt = "";
      visual.loading = "lazy";
      visual.src = src;
      if (summary.thumbnail_url) {
        // SAS URLs expire: fetch a fresh one once if the thumbnail stops loading.
        visual.addEventListener("error", () => this.refreshOne(summary.id), { once: true });
      }
    } else {
      visual = document.createElement("span");
      visual.className = "card-thumb card-placeholder";
      visual.textContent = summary.status === "failed" ? "No preview" : "Waiting for a preview…";
    }
    const name = document.createElement("span");
    name.className = "card-name";
    name.textContent = summary.filename;
    open.append(visual, name);
    open.setAttribute("aria-haspopup", "dialog");
    open.addEventListener("click", () => this.hooks.onOpen(summary.id, open));
    const state = document.createElement("p");
    state.className = "card-state";
    state.id = `card-state-${summary.id}`;
    state.textContent = summary.status === "tagged" ? "Tagged"
      : summary.status === "failed" ? `Failed: ${summary.error?.message || "unknown error"}` : "Tagging…";
    const chips = document.createElement("ul");
    chips.className = "chips";
    chips.id = `card-tags-${summary.id}`;
    chips.setAttribute("aria-label", "Tags");
    for (const tag of summary.tags.slice(0, CHIPS_ON_CARD)) {
      const chip = document.createElement("li");
      chip.textContent = tag.name;
      chips.append(chip);
    }
    if (summary.tags.length > CHIPS_ON_CARD) {
      const more = document.createElement("li");
      more.textContent = `+${summary.tags.length - CHIPS_ON_CARD}`;
      chips.append(more);
    }
    open.setAttribute("aria-describedby", `${state.id} ${chips.id}`);
    li.append(open, state, chips);
    return li;
  }

  async refreshOne(id) {
    try {
      const detail = await request("GET", `images/${encodeURIComponent(id)}`);
      if (this.cards.has(id)) this.upsert(detail);
    } catch {
      // a broken thumbnail is not worth an alert
    }
  }
}

/** The tag list: one toggle button per tag with its count; picks the gallery filter. */
export class TagList {
  constructor(elements, onPick) {
    this.el = elements; // {list, datalist}
    this.onPick = onPick;
    this.active = null;
    this.timer = null;
  }

  async load() {
    const { tags } = await request("GET", "tags");
    const focusedName = document.activeElement?.closest?.("#tag-list") ? document.activeElement.dataset.tag : null;
    this.el.list.replaceChildren();
    this.el.datalist.replaceChildren();
    for (const { name, count } of tags) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.tag = name;
      button.setAttribute("aria-pressed", String(name === this.active));
      button.setAttribute("aria-label", `${name}, ${count} image${count === 1 ? "" : "s"}`);
      const label = document.createElement("span");
      label.textContent = name;
      const badge = document.createElement("span");
      badge.className = "count";
      badge.textContent = String(count);
      button.append(label, badge);
      button.addEventListener("click", () => this.onPick(name === this.active ? null : name));
      li.append(button);
      this.el.list.append(li);
      const option = document.createElement("option");
      option.value = name;
      this.el.datalist.append(option);
      if (name === focusedName) button.focus();
    }
    if (tags.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "No tags yet.";
      this.el.list.append(li);
    }
  }

  setActive(name) {
    this.active = name;
    for (const button of this.el.list.querySelectorAll("button[data-tag]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tag === name));
    }
  }

  /** Reload soon (several images settling together cause one request). */
  refreshSoon(onError) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load().catch(onError), 400);
  }
}
