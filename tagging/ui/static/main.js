// Wires the page together: upload form, gallery, tag filter, detail dialog, settings.
import { getKey, request, setKey } from "./api.js";
import { DetailView } from "./detail.js";
import { Gallery, TagList } from "./gallery.js";
import { filesFromDrop, metadataProblem, Uploader } from "./upload.js";

const $ = (id) => document.getElementById(id);

function showAlert(error) {
  $("alert-text").textContent = error?.message || String(error);
  $("alert").hidden = false;
}

function hideAlert() {
  $("alert").hidden = true;
}

function announce(text) {
  // The gallery's status line is a polite live region.
  $("gallery-status").textContent = text;
}

const tagList = new TagList({ list: $("tag-list"), datalist: $("tag-options") }, (name) => applyFilter(name));

const gallery = new Gallery(
  { list: $("gallery"), status: $("gallery-status"), loadMore: $("load-more") },
  {
    onOpen: (id, button) => detail.open(id, button),
    onSettled: (settled) => {
      const news = settled.map(({ summary, uploadItem }) => {
        uploader.markTagged(uploadItem, summary);
        const tags = summary.tags.map((tag) => tag.name).join(", ");
        return summary.status === "tagged" ? `${summary.filename} tagged${tags ? `: ${tags}` : ""}.`
          : `${summary.filename} could not be tagged: ${summary.error?.message || "unknown error"}.`;
      });
      announce(`${news.join(" ")} ${gallery.summary()}`);
    },
    onChange: () => tagList.refreshSoon(showAlert),
    onError: showAlert,
  },
);

const uploader = new Uploader(
  { list: $("queue"), status: $("upload-status"), button: $("upload-button"), clear: $("clear-queue") },
  {
    onAccepted: (file, image, batchId, item) => gallery.added(image, batchId, URL.createObjectURL(file), item),
  },
);

const detail = new DetailView($("detail"), {
  onDeleted: (id) => {
    const next = gallery.deleted(id);
    tagList.refreshSoon(showAlert);
    return next;
  },
  onRetagged: (image) => {
    if (gallery.cards.has(image.id)) gallery.upsert(image);
    tagList.refreshSoon(showAlert);
  },
  onError: showAlert,
  announce: (text) => announce(`${text} ${gallery.summary()}`),
});

/** Search tags (mode "tag") or words read in the photos (mode "text"); empty: all. */
async function applyFilter(name, mode = "tag") {
  const value = name ? name.trim() : "";
  $("tag-search").value = value;
  $("search-mode").value = mode;
  syncMode();
  hideAlert();
  const loaded = mode === "text" ? gallery.load(null, value || null) : gallery.load(value || null);
  if (await loaded) {
    tagList.setActive(gallery.filter);
    $("clear-filter").hidden = !(gallery.filter || gallery.text);
  }
}

function syncMode() {
  // The tag suggestions only fit tag searches.
  const text = $("search-mode").value === "text";
  if (text) $("tag-search").removeAttribute("list");
  else $("tag-search").setAttribute("list", "tag-options");
  $("tag-search").placeholder = text ? "e.g. exit" : "e.g. cat";
}

$("search-mode").addEventListener("change", syncMode);

// Metadata: validated as the user types, and again before uploading.
function checkMetadata() {
  const textarea = $("metadata");
  const problem = metadataProblem(textarea.value);
  $("metadata-error").textContent = problem || "";
  $("metadata-error").hidden = !problem;
  textarea.setAttribute("aria-invalid", String(Boolean(problem)));
  return problem;
}

$("metadata").addEventListener("input", checkMetadata);

$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (checkMetadata()) {
    $("metadata").focus();
    return;
  }
  hideAlert();
  uploader.start($("metadata").value.trim());
});

$("choose-files").addEventListener("click", () => $("file-input").click());
$("file-input").addEventListener("change", (event) => {
  uploader.add([...event.target.files]);
  event.target.value = "";
  if (!$("upload-button").disabled) $("upload-button").focus();
});
$("clear-queue").addEventListener("click", () => {
  uploader.clearFinished();
  $("choose-files").focus();
});

const dropZone = $("drop-zone");
for (const name of ["dragenter", "dragover"]) {
  dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
}
dropZone.addEventListener("dragleave", (event) => {
  if (!dropZone.contains(event.relatedTarget)) dropZone.classList.remove("dragging");
});
dropZone.addEventListener("drop", async (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  uploader.add(await filesFromDrop(event.dataTransfer));
});
// A drop that misses the zone must not navigate away from the page.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  applyFilter($("tag-search").value, $("search-mode").value);
});
$("clear-filter").addEventListener("click", () => {
  applyFilter(null, $("search-mode").value);
  $("tag-search").focus();
});
$("load-more").addEventListener("click", () => gallery.loadMore());
$("alert-close").addEventListener("click", hideAlert);

// Settings: the optional function key.
const settings = $("settings");
$("settings-open").addEventListener("click", () => {
  $("function-key").value = getKey();
  $("show-key").checked = false;
  $("function-key").type = "password";
  settings.showModal();
  $("function-key").focus();
});
$("show-key").addEventListener("change", (event) => {
  $("function-key").type = event.target.checked ? "text" : "password";
});
$("settings-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (event.submitter?.value === "save") {
    setKey($("function-key").value.trim());
    hideAlert();
    refreshAll();
  }
  settings.close();
});
$("forget-key").addEventListener("click", () => {
  setKey("");
  $("function-key").value = "";
  $("function-key").focus();
});
settings.addEventListener("close", () => $("settings-open").focus());

async function refreshAll() {
  await applyFilter(gallery.filter);
  try {
    await tagList.load();
    tagList.setActive(gallery.filter);
  } catch (error) {
    showAlert(error);
  }
}

document.documentElement.dataset.ready = "true";
refreshAll();
