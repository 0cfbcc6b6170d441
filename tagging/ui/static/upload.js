// The upload list: files picked or dropped, validated metadata, one request per file
// (so each file has its own progress bar), a few at a time.
import { newIdempotencyKey, uploadFile } from "./api.js";

const CONCURRENCY = 3;
const MAX_METADATA_BYTES = 8 * 1024;
const IMAGE_NAME = /\.(jpe?g|png|gif|bmp|webp|tiff?|heic|heif|avif)$/i;

/** null when valid, else a message. Empty text is valid (no metadata). */
export function metadataProblem(text) {
  if (text.trim() === "") return null;
  if (new TextEncoder().encode(text).length > MAX_METADATA_BYTES) {
    return `Metadata must be at most ${MAX_METADATA_BYTES} bytes.`;
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Metadata is not valid JSON: ${error.message}`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return 'Metadata must be a JSON object, e.g. {"album": "trip"}.';
  }
  return null;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Files of a drop, folders walked recursively (only image-named files from folders). */
export async function filesFromDrop(dataTransfer) {
  const entries = [...(dataTransfer.items || [])]
    .map((item) => (item.kind === "file" && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (entries.length === 0) return [...(dataTransfer.files || [])];
  const files = [];
  const readAll = (reader) =>
    new Promise((resolve, reject) => {
      const all = [];
      const next = () =>
        reader.readEntries((batch) => {
          if (batch.length === 0) resolve(all);
          else {
            all.push(...batch);
            next();
          }
        }, reject);
      next();
    });
  const walk = async (entry, inFolder) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      if (!inFolder || IMAGE_NAME.test(file.name)) files.push(file);
    } else if (entry.isDirectory) {
      for (const child of await readAll(entry.createReader())) await walk(child, true);
    }
  };
  for (const entry of entries) await walk(entry, false);
  return files;
}

export class Uploader {
  /**
   * elements: {list, status, button, clear}; hooks: onAccepted(file, image, batchId),
   * onFinished(summary)
   */
  constructor(elements, hooks) {
    this.el = elements;
    this.hooks = hooks;
    this.items = [];
    this.nextId = 1;
    this.running = false;
  }

  add(files) {
    for (const file of files) {
      // One Idempotency-Key per file, made once: every retry of this file sends it.
      const item = { id: this.nextId++, file, state: "ready", idempotencyKey: newIdempotencyKey() };
      item.li = this.render(item);
      this.el.list.append(item.li);
      this.items.push(item);
    }
    this.refresh();
    if (files.length) this.say(`${files.length} file${files.length === 1 ? "" : "s"} added. ${this.readyCount()} ready to upload.`);
  }

  readyCount() {
    return this.items.filter((item) => item.state === "ready").length;
  }

  render(item) {
    const li = document.createElement("li");
    li.className = "queue-item";
    li.dataset.state = item.state;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = item.file.name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${item.file.name}`);
    remove.addEventListener("click", () => this.remove(item));
    const progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", `Upload progress of ${item.file.name}`);
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = `${formatSize(item.file.size)} · ready`;
    li.append(name, remove, progress, state);
    Object.assign(item, { progressEl: progress, stateEl: state, removeEl: remove });
    return li;
  }

  remove(item) {
    if (item.state !== "ready") return;
    const index = this.items.indexOf(item);
    this.items.splice(index, 1);
    const focusTarget = this.items[index]?.removeEl || this.el.button;
    item.li.remove();
    this.refresh();
    this.say(`${item.file.name} removed.`);
    if (focusTarget && !focusTarget.disabled && focusTarget.isConnected) focusTarget.focus();
  }

  clearFinished() {
    this.items = this.items.filter((item) => {
      if (item.state === "ready" || item.state === "uploading") return true;
      item.li.remove();
      return false;
    });
    this.refresh();
  }

  refresh() {
    const ready = this.readyCount();
    this.el.button.disabled = this.running || ready === 0;
    this.el.button.textContent = ready > 1 ? `Upload ${ready} files` : "Upload";
    this.el.clear.disabled = this.running || this.items.every((item) => item.state === "ready" || item.state === "uploading");
  }

  say(text) {
    this.el.status.textContent = text;
  }

  setState(item, state, text) {
    item.state = state;
    item.li.dataset.state = state;
    item.li.classList.toggle("rejected", state === "rejected" || state === "error");
    item.li.classList.toggle("uploaded", state === "uploaded");
    item.stateEl.textContent = text;
    item.removeEl.hidden = state !== "ready";
  }

  /** Upload every ready file with ``metadata`` (already validated text). */
  async start(metadata) {
    const queue = this.items.filter((item) => item.state === "ready");
    if (queue.length === 0 || this.running) return;
    this.running = true;
    this.refresh();
    const totals = { uploaded: 0, rejected: 0, total: queue.length };
    for (const item of queue) this.setState(item, "waiting", `${formatSize(item.file.size)} · waiting`);
    this.say(`Uploading ${queue.length} file${queue.length === 1 ? "" : "s"}…`);
    const worker = async () => {
      while (queue.length) await this.uploadOne(queue.shift(), metadata, totals);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
    this.running = false;
    this.refresh();
    const parts = [`${totals.uploaded} of ${totals.total} uploaded`];
    if (totals.rejected) parts.push(`${totals.rejected} rejected`);
    this.say(`Upload finished: ${parts.join(", ")}. Tags appear in the gallery as they are ready.`);
    this.hooks.onFinished?.(totals);
  }

  async uploadOne(item, metadata, totals) {
    this.setState(item, "uploading", "uploading… 0%");
    let lastPercent = -1;
    const onProgress = (fraction) => {
      const percent = Math.round(fraction * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      item.progressEl.value = percent;
      item.stateEl.textContent = `uploading… ${percent}%`;
    };
    let result;
    try {
      result = await uploadFile(item.file, metadata, onProgress, item.idempotencyKey);
    } catch (error) {
      totals.rejected += 1;
      this.setState(item, "error", `Failed: ${error.message}`);
      return;
    }
    item.progressEl.value = 100;
    if (result.error) {
      totals.rejected += 1;
      this.setState(item, "rejected", `Rejected: ${result.error.message} (${result.error.code})`);
      return;
    }
    const { batch_id: batchId, images = [], rejected = [] } = result.body || {};
    if (images.length === 0) {
      totals.rejected += 1;
      const reason = rejected[0]?.error;
      this.setState(item, "rejected", `Rejected: ${reason ? `${reason.message} (${reason.code})` : "not accepted"}`);
      return;
    }
    totals.uploaded += 1;
    this.setState(item, "uploaded", "Uploaded · tagging…");
    for (const image of images) this.hooks.onAccepted?.(item.file, image, batchId, item);
  }

  /** The gallery reports a file's outcome back to its row. */
  markTagged(item, summary) {
    if (!item || item.state !== "uploaded") return;
    if (summary.status === "tagged") {
      const names = summary.tags.map((tag) => tag.name);
      item.stateEl.textContent = names.length ? `Tagged: ${names.join(", ")}` : "Tagged (no tags)";
    } else if (summary.status === "failed") {
      item.li.classList.add("rejected");
      item.stateEl.textContent = `Tagging failed: ${summary.error?.message || "unknown error"}`;
    }
  }
}
