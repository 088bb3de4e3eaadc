// Anomaly reports kept on the phone until they are sent: the report page and its service
// worker share this file. A report is saved (photos as Blobs) in IndexedDB with its own
// Idempotency-Key, a UUID made once, and sent with it until the server answers: a resend
// after a lost answer registers nothing new. A report stays until the server took it or
// refused it; a refused one stays too, marked with the message, for the person to fix.
(function (scope) {
  "use strict";
  const DB = "plantops-reports";
  const STORE = "reports";
  const LOCK = "plantops-report-queue";
  const READY = "/anomalies/new/ready";
  const SEND = "/anomalies/new/send";

  function newKey() {
    if (scope.crypto && scope.crypto.randomUUID) return scope.crypto.randomUUID();
    // randomUUID needs a secure page; getRandomValues does not.
    const b = scope.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function open() {
    return new Promise((resolve, reject) => {
      const request = scope.indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function run(mode, work) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const result = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  async function all() {
    const rows = (await run("readonly", (s) => s.getAll())) || [];
    return rows.sort((a, b) => a.savedAt - b.savedAt);
  }
  const get = (key) => run("readonly", (s) => s.get(key));
  const put = (entry) => run("readwrite", (s) => s.put(entry));
  const remove = (key) => run("readwrite", (s) => s.delete(key));

  // fields: [[name, value], ...] in the form's order; photos: [{name, type, blob}].
  // user: who made it; it is sent only while that person is signed in.
  async function save(fields, photos, replacing, user) {
    const entry = {
      key: newKey(), savedAt: Date.now(), fields, photos, user: user || "",
      state: "waiting", message: "", field: "",
    };
    await put(entry);
    // The one it replaces was refused (nothing registered): its fix goes under a new key.
    if (replacing) await remove(replacing);
    return entry;
  }

  function body(entry) {
    const form = new FormData();
    for (const [name, value] of entry.fields) form.append(name, value);
    for (const p of entry.photos) form.append("photos", p.blob, p.name);
    form.append("idempotency_key", entry.key);
    return form;
  }

  async function answerOf(response) {
    try { return await response.json(); } catch (e) { return {}; }
  }

  async function mark(entries, state) {
    for (const e of entries) {
      if (e.state !== state) { e.state = state; await put(e); }
    }
  }

  // Sends what waits. The answer: {state: "idle" | "offline" | "signin", sent: [...],
  // refused: [...]}. Never throws for a network that is down: the reports stay.
  async function sendAll() {
    const sent = [];
    const refused = [];
    let waiting = (await all()).filter((e) => e.state !== "refused");
    if (!waiting.length) return { state: "idle", sent, refused };
    let csrf;
    try {
      const ready = await fetch(READY, {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin",
      });
      const answer = await ready.json();
      if (!answer.signed_in) {
        await mark(waiting, "signin");
        return { state: "signin", sent, refused };
      }
      csrf = answer.csrf;
      const others = waiting.filter((e) => e.user && e.user !== answer.user);
      await mark(others, "signin");
      waiting = waiting.filter((e) => !others.includes(e));
      if (!waiting.length) return { state: "signin", sent, refused };
      await mark(waiting, "waiting");
    } catch (e) {
      return { state: "offline", sent, refused };
    }
    for (const entry of waiting) {
      let response;
      try {
        response = await fetch(SEND, {
          method: "POST", body: body(entry), credentials: "same-origin", redirect: "manual",
          headers: { Accept: "application/json", "X-CSRF-Token": csrf },
        });
      } catch (e) {
        await mark([entry], "waiting");
        return { state: "offline", sent, refused };
      }
      if (response.status === 201 || response.status === 200) {
        const answer = await answerOf(response);
        await remove(entry.key);
        sent.push({ key: entry.key, reference: answer.reference, url: answer.url });
        continue;
      }
      if (response.status === 401 || response.type === "opaqueredirect") {
        await mark(waiting.filter((e) => !sent.some((s) => s.key === e.key)), "signin");
        return { state: "signin", sent, refused };
      }
      const answer = await answerOf(response);
      const error = answer.error || {};
      if (response.status === 403 && error.type === "CsrfFailed") {
        // The token was refused, so nothing was registered: next round, a fresh token and
        // (the refusal being kept under the old one) a fresh key.
        const old = entry.key;
        entry.key = newKey();
        await put(entry);
        await remove(old);
        return { state: "offline", sent, refused };
      }
      if (response.status >= 400 && response.status < 500 && ![408, 409, 429].includes(response.status)) {
        entry.state = "refused";
        entry.message = error.message || `refused (${response.status})`;
        entry.field = error.field || "";
        await put(entry);
        refused.push(entry);
        continue;
      }
      await mark([entry], "waiting"); // busy or down for a moment: next round
      return { state: "offline", sent, refused };
    }
    return { state: "idle", sent, refused };
  }

  // One sender at a time, page or service worker (the other waits, then finds less).
  function flush() {
    if (scope.navigator && scope.navigator.locks) {
      return scope.navigator.locks.request(LOCK, () => sendAll());
    }
    return sendAll();
  }

  scope.ReportQueue = { all, get, put, remove, save, flush, newKey };
})(self);
