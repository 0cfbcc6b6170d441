// The detail dialog: one image's tags (confidence, source), facts, batch metadata,
// a link to the original, and delete. Focus moves into the dialog and back out.
import { request } from "./api.js";

const FACT_LABELS = {
  format: "Format", mime_type: "Type", width: "Width (px)", height: "Height (px)", megapixels: "Megapixels",
  orientation: "Orientation", exif_orientation: "EXIF orientation", mode: "Colour mode",
};

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
  /** hooks: {onDeleted(id, summary) -> element to focus, onError(error), announce(text)} */
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
    this.q("#detail-status").textContent = `${status} · uploaded ${formatTime(image.uploaded_at)}`;

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
      const dt = document.createElement("dt");
      dt.textContent = humanise(key);
      const dd = document.createElement("dd");
      dd.textContent = formatValue(value);
      facts.append(dt, dd);
    }
    this.q("#detail-metadata-block").hidden = true;
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
