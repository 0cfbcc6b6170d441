// The app's HTTP API, relative to this page (page: <prefix>/ui/, API: <prefix>/).
const KEY_STORAGE = "tagging.functionKey";
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const MAX_ATTEMPTS = 4;

export const apiBase = new URL("../", document.baseURI);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function getKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setKey(value) {
  try {
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage disabled: the key lasts for this page only
  }
}

function authHeaders() {
  const key = getKey();
  return key ? { "x-functions-key": key } : {};
}

export function apiUrl(path, params) {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

function errorFrom(status, body) {
  const error = body && typeof body === "object" ? body.error : null;
  if (status === 401 || status === 403) {
    const detail = error && error.message ? ` (${error.message})` : "";
    return new ApiError(status, (error && error.code) || "unauthorized",
      `The app refused the request: it needs a function key or a sign-in. Open Settings to enter a key${detail}.`);
  }
  if (error && error.message) return new ApiError(status, error.code || "error", error.message);
  if (status === 413) return new ApiError(status, "too_large", "The request is too large for the app.");
  return new ApiError(status, "http_error", `The app answered HTTP ${status}.`);
}

function retryDelay(retryAfter, attempt) {
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 30) * 1000;
  return Math.min(500 * 2 ** attempt, 8000);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function parseJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** JSON request; retries 429/502/503/504 and network errors a few times. */
export async function request(method, path, params, headers = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(apiUrl(path, params), {
        method,
        headers: { Accept: "application/json", ...authHeaders(), ...headers },
        cache: "no-store",
      });
    } catch (error) {
      if (attempt + 1 < MAX_ATTEMPTS) {
        await sleep(retryDelay(null, attempt));
        continue;
      }
      throw new ApiError(0, "network_error", "Cannot reach the app. Is it running?");
    }
    if (RETRY_STATUSES.has(response.status) && attempt + 1 < MAX_ATTEMPTS) {
      await sleep(retryDelay(response.headers.get("Retry-After"), attempt));
      continue;
    }
    if (response.status === 204) return null;
    const body = await parseJson(response);
    if (!response.ok) throw errorFrom(response.status, body);
    return body;
  }
}

/** A new Idempotency-Key: a random UUID (crypto.randomUUID needs a secure context). */
export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function uploadRetryable(result) {
  if (result.status === 0) return true; // network error: safe to resend, the key makes it one upload
  if (RETRY_STATUSES.has(result.status)) return true;
  // The same upload (same key) is still being handled: its answer comes on a retry.
  return result.status === 409 && result.body?.error?.code === "idempotency_in_progress";
}

/**
 * Upload one file (multipart, with the batch metadata) through XMLHttpRequest so that
 * upload progress is reported: onProgress(fraction 0..1). Every attempt sends the
 * same idempotencyKey (one per file), so a retry after a dropped connection gets the
 * first answer instead of storing the file twice. Resolves with {status, body};
 * rejects with ApiError only when the app cannot be reached.
 */
export function uploadFile(file, metadata, onProgress, idempotencyKey = newIdempotencyKey()) {
  const form = new FormData();
  form.append("file", file, file.name);
  if (metadata) form.append("metadata", metadata);
  const send = (attempt) =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", apiUrl("images"));
      xhr.responseType = "text";
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Idempotency-Key", idempotencyKey);
      for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          body = null;
        }
        resolve({ status: xhr.status, body, retryAfter: xhr.getResponseHeader("Retry-After") });
      });
      xhr.addEventListener("error", () => resolve({ status: 0, body: null, retryAfter: null }));
      xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", "The upload was cancelled.")));
      xhr.send(form);
    }).then(async (result) => {
      if (uploadRetryable(result) && attempt + 1 < MAX_ATTEMPTS) {
        onProgress(0);
        await sleep(retryDelay(result.retryAfter, attempt));
        return send(attempt + 1);
      }
      if (result.status === 0) throw new ApiError(0, "network_error", "Cannot reach the app. Is it running?");
      return result;
    });
  return send(0).then((result) => {
    if (result.status === 202 || result.status === 200) return result;
    return { ...result, error: errorFrom(result.status, result.body) };
  });
}
