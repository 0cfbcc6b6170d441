// The detail dialog: one image's tags (confidence, source), faces drawn over the
// photo, the text read in it, facts, batch metadata, a link to the original, re-tag
// (with its progress) and delete. Focus moves into the dialog and back out.
import { newIdempotencyKey, request } from "./api.js";

const RETAG_POLL_MS = 1000;
const RETAG_GIVE_UP_MS = 5 * 60 * 1000;
// Facts shown in their own way (boxes over the photo, the read text), not as a list entry.
const SHOWN_ELSEWHERE = new Set(["faces", "text"]);

const FACT_LABELS = {
  format: "Format", mime_type: "Type", width: "Width (px)", height: "Height (px)", megapixels: "Megapixels",
  orientation: "Orientation", exif_orientation: "EXIF orientation", mode: "Colour mode", face_count: "Faces",
  nsfw_score: "NSFW score",
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A face's normalised box [left, top, width, height] as CSS percentages, or null. */
function boxStyle(box) {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === "number" && Number.isFinite(v))) return null;
  const clamp = (v) => Math.min(Math.max(v, 0), 1);
  const [left, top] = [clamp(box[0]), clamp(box[1])];
  const [width, height] = [Math.min(clamp(box[2]), 1 - left), Math.min(clamp(box[3]), 1 - top)];
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  return { left: pct(left), top: pct(top), width: pct(width), height: pct(height) };
}

function formatBytes(bytes) {
  if (typeof bytes !== "number") return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

function formatValue(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.map(formatValue).join(", ");
  if (typeof value === "object") {
    // Colour entries read best as "orange 62%" / "orange #a9552a".
    if ("name" in value && typeof value.share === "number") {
      return `${value.name} ${Math.round(value.share * 100)}%${value.hex ? ` (${value.hex})` : ""}`;
    }
    if ("name" in value && value.hex) return `${value.name} ${value.hex}`;
    return Object.entries(value).map(([key, inner]) => `${key}: ${formatValue(inner)}`).join("; ");
  }
  return String(value);
}

function humanise(key) {
  return FACT_LABELS[key] || key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export class DetailView {
  /** hooks: {onDeleted(id, summary) -> element to focus, onRetagged(image), onError(error), announce(text)} */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.q = (selector) => root.querySelector(selector);
    this.image = null;
    this.opener = null;
    this.q("#detail-close").addEventListener("click", () => this.close());
    this.q("#delete-button").addEventListener("click", () => this.askDelete(true));
    this.q("#delete-no").addEventListener("click", () => this.askDelete(false));
    this.q("#delete-yes").addEventListener("click", () => this.delete());
    this.q("#retag-button").addEventListener("click", () => this.retag());
    this.retagging = null; // the image id a re-tag runs for
    root.addEventListener("close", () => this.restoreFocus());
    // A click on the backdrop (outside the dialog's box) closes it.
    root.addEventListener("click", (event) => {
      if (event.target !== root) return;
      const box = root.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) this.close();
    });
  }

  async open(id, opener) {
    this.opener = opener;
    let image;
    try {
      image = await request("GET", `images/${encodeURIComponent(id)}`);
    } catch (error) {
      this.hooks.onError(error);
      return;
    }
    this.image = image;
    this.render(image);
    if (this.retagging !== image.id) this.q("#retag-status").textContent = "";
    this.askDelete(false);
    if (!this.root.open) this.root.showModal();
    this.q("#detail-title").focus();
    this.loadMetadata(image.batch_id, image.id);
  }

  render(image) {
    this.q("#detail-title").textContent = image.filename;
    const img = this.q("#detail-image");
    img.src = image.thumbnail_url || image.url || "";
    img.alt = `Preview of ${image.filename}`;
    const original = this.q("#detail-original");
    // url is null when the original can no longer be read (aged out by the retention
    // rule, or a storage connection that cannot sign read URLs): no dead link then.
    original.hidden = !image.url;
    if (image.url) original.href = image.url;
    else original.removeAttribute("href");
    original.textContent = `Open the original (${formatBytes(image.size)}, ${image.content_type || "image"})`;
    const status = image.status === "tagged" ? `Tagged ${formatTime(image.tagged_at)}`
      : image.status === "failed" ? `Tagging failed: ${image.error?.message || "unknown error"}`
        : "Waiting to be tagged…";
    const version = image.analysis_version ? ` · analysis version ${image.analysis_version}` : "";
    this.q("#detail-status").textContent = `${status} · uploaded ${formatTime(image.uploaded_at)}${version}`;
    this.renderFaces(image.facts?.faces, image.facts?.face_count);
    this.renderText(image.facts?.text);
    this.q("#retag-button").disabled = image.status === "queued" || this.retagging === image.id;

    const rows = this.q("#detail-tags");
    rows.replaceChildren();
    for (const tag of image.tags) {
      const tr = document.createElement("tr");
      for (const text of [tag.name, `${Math.round(tag.confidence * 100)}%`, tag.source]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      rows.append(tr);
    }
    this.q(".tags-table").hidden = image.tags.length === 0;
    this.q("#detail-no-tags").hidden = image.tags.length > 0;

    const facts = this.q("#detail-facts");
    facts.replaceChildren();
    const entries = Object.entries(image.facts || {});
    entries.push(["file_size", formatBytes(image.size)], ["image_id", image.id], ["batch_id", image.batch_id]);
    for (const [key, value] of entries) {
      if (SHOWN_ELSEWHERE.has(key)) continue;
      const dt = document.createElement("dt");
      dt.textContent = humanise(key);
      const dd = document.createElement("dd");
      dd.textContent = formatValue(value);
      facts.append(dt, dd);
    }
    this.q("#detail-metadata-block").hidden = true;
  }

  renderFaces(faces, count) {
    const layer = this.q("#detail-faces");
    layer.replaceChildren();
    const list = Array.isArray(faces) ? faces : [];
    list.forEach((face, index) => {
      const style = boxStyle(face?.box);
      if (!style) return;
      const box = document.createElement("div");
      box.className = "face-box";
      box.dataset.index = String(index);
      box.title = `Face ${index + 1}${typeof face.score === "number" ? `, ${Math.round(face.score * 100)}%` : ""}`;
      Object.assign(box.style, style);
      layer.append(box);
    });
    const note = this.q("#detail-face-count");
    const total = typeof count === "number" ? count : list.length;
    note.hidden = total === 0;
    note.textContent = total === 0 ? "" : `${total} face${total === 1 ? "" : "s"} found${total > list.length ? ` (${list.length} outlined)` : ""}.`;
  }

  renderText(text) {
    const lines = Array.isArray(text?.lines) ? text.lines.filter((line) => typeof line?.text === "string" && line.text) : [];
    const list = this.q("#detail-text");
    list.replaceChildren();
    for (const line of lines) {
      const li = document.createElement("li");
      li.textContent = line.text;
      list.append(li);
    }
    this.q("#detail-text-block").hidden = lines.length === 0;
  }

  /** Re-tag this image through the app's queue; the status line follows the job. */
  async retag() {
    const image = this.image;
    if (!image || this.retagging) return;
    const status = this.q("#retag-status");
    const button = this.q("#retag-button");
    this.retagging = image.id;
    button.disabled = true;
    status.textContent = "Re-tag requested…";
    try {
      const job = await request("POST", `images/${encodeURIComponent(image.id)}/retag`, null,
        { "Idempotency-Key": newIdempotencyKey() });
      const started = Date.now();
      let state = job;
      status.textContent = "Re-tagging…";
      while (Date.now() - started < RETAG_GIVE_UP_MS) {
        state = await request("GET", `retags/${encodeURIComponent(job.retag_id)}`);
        if (state.done) break;
        await sleep(RETAG_POLL_MS);
      }
      const failed = state.images?.find((item) => item.status === "failed");
      if (!state.done) status.textContent = "Still re-tagging; check again later.";
      else if (failed) status.textContent = `Re-tag failed: ${failed.error?.message || "unknown error"}.`;
      else status.textContent = `Re-tagged (analysis version ${state.analysis_version}).`;
      const fresh = await request("GET", `images/${encodeURIComponent(image.id)}`);
      this.hooks.onRetagged?.(fresh);
      if (this.root.open) {
        if (this.image?.id === image.id) {
          this.image = fresh;
          this.render(fresh);
        }
      }
    } catch (error) {
      status.textContent = "";
      this.hooks.onError(error);
    } finally {
      this.retagging = null;
      if (this.image?.id === image.id) button.disabled = this.image.status === "queued";
    }
  }

  async loadMetadata(batchId, imageId) {
    try {
      const batch = await request("GET", `batches/${encodeURIComponent(batchId)}`);
      if (this.image?.id !== imageId || !batch.metadata || Object.keys(batch.metadata).length === 0) return;
      this.q("#detail-metadata").textContent = JSON.stringify(batch.metadata, null, 2);
      this.q("#detail-metadata-block").hidden = false;
    } catch {
      // metadata is a nicety; the rest of the dialog stands
    }
  }

  askDelete(show) {
    this.q("#delete-confirm").hidden = !show;
    this.q("#delete-button").hidden = show;
    if (show) this.q("#delete-yes").focus();
    else if (this.root.open && document.activeElement === document.body) this.q("#delete-button").focus();
  }

  async delete() {
    const image = this.image;
    const yes = this.q("#delete-yes");
    yes.disabled = true;
    try {
      await request("DELETE", `images/${encodeURIComponent(image.id)}`);
    } catch (error) {
      yes.disabled = false;
      this.hooks.onError(error);
      return;
    }
    yes.disabled = false;
    this.opener = this.hooks.onDeleted(image.id, image);
    this.hooks.announce(`${image.filename} deleted.`);
    this.close();
  }

  close() {
    if (this.root.open) this.root.close();
  }

  restoreFocus() {
    const target = this.opener && this.opener.isConnected ? this.opener : document.getElementById("gallery-heading");
    this.image = null;
    target?.focus();
  }
}
