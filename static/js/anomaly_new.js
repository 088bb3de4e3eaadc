// The report page on a phone: its position, dictation, and reports kept on the phone
// while there is no network (report_queue.js), sent when it is back.
"use strict";

// The phone's position, when the user allows it, travels with the report.
const where = document.getElementById("where");
if (navigator.geolocation) {
  navigator.geolocation.getCurrentPosition(
    (p) => {
      document.getElementById("latitude").value = p.coords.latitude.toFixed(6);
      document.getElementById("longitude").value = p.coords.longitude.toFixed(6);
      where.textContent = `Location: ${p.coords.latitude.toFixed(5)}, ${p.coords.longitude.toFixed(5)}`;
    },
    () => { where.textContent = "Location: not shared (the asset's location is used)"; },
    { enableHighAccuracy: true, timeout: 10000 }
  );
} else { where.textContent = "Location: not available on this device"; }

// Dictation where the browser has speech input; the button stays hidden elsewhere.
(function dictation() {
  const Speech = window.SpeechRecognition || window.webkitSpeechRecognition;
  const button = document.getElementById("dictate");
  const text = document.getElementById("description");
  if (!Speech || !button || !text) return;
  const label = button.querySelector("span");
  const words = label.textContent;
  let listening = null;
  button.hidden = false;
  const done = () => {
    listening = null;
    label.textContent = words;
    button.setAttribute("aria-pressed", "false");
  };
  button.addEventListener("click", () => {
    if (listening) { listening.stop(); return; }
    const heard = new Speech();
    heard.lang = navigator.language || "en";
    heard.interimResults = false;
    heard.onresult = (event) => {
      const said = [...event.results].map((r) => r[0].transcript).join(" ").trim();
      if (said) text.value = text.value.trim() ? `${text.value.trim()} ${said}` : said;
    };
    heard.onerror = (event) => {
      where.textContent = event.error === "not-allowed"
        ? "Dictation: the microphone is not allowed for this page" : where.textContent;
    };
    heard.onend = done;
    listening = heard;
    label.textContent = "Listening… press to stop";
    button.setAttribute("aria-pressed", "true");
    heard.start();
  });
})();

// Reports kept on the phone.
(function keptReports() {
  const form = document.getElementById("report-form");
  const Queue = window.ReportQueue;
  if (!form || !Queue || !window.indexedDB) return; // the plain form post, as before
  const box = document.getElementById("queue");
  const status = document.getElementById("queue-status");
  const signIn = document.getElementById("queue-signin");
  const list = document.getElementById("queue-list");
  const sentBox = document.getElementById("queue-sent");
  const photoInput = document.getElementById("photos");
  const SKIP = new Set(["csrf_token", "idempotency_key", "photos"]);
  let editing = null; // the refused report being fixed in the form

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const valueOf = (entry, name) => (entry.fields.find(([k]) => k === name) || [])[1] || "";

  function clearFieldErrors() {
    for (const e of form.querySelectorAll(".field-error[data-queued]")) e.remove();
  }

  function showFieldError(field, message) {
    clearFieldErrors();
    const input = field && form.elements[field];
    const holder = input && input.closest && input.closest(".field");
    const note = document.createElement("p");
    note.className = "field-error";
    note.setAttribute("role", "alert");
    note.dataset.queued = "";
    note.textContent = holder ? message : `${(field || "report").replace(/_/g, " ")}: ${message}`;
    if (holder) holder.querySelector("label").after(note);
    else form.prepend(note);
    note.scrollIntoView({ block: "center" });
    if (input && input.focus) input.focus({ preventScroll: true });
  }

  function loadIntoForm(entry) {
    form.reset();
    for (const [name, value] of entry.fields) {
      const input = form.elements[name];
      if (!input) continue;
      if (input.type === "checkbox") input.checked = true;
      else input.value = value;
    }
    try {
      const files = new DataTransfer();
      for (const p of entry.photos) files.items.add(new File([p.blob], p.name, { type: p.type }));
      photoInput.files = files.files;
    } catch (e) { /* the photos stay with the report; the form shows none */ }
    editing = entry.key;
    showFieldError(entry.field, entry.message);
  }

  function item(entry) {
    const li = document.createElement("li");
    const what = document.createElement("strong");
    what.textContent = `${valueOf(entry, "asset")} · ${valueOf(entry, "title")}`;
    const when = new Date(entry.savedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const refused = entry.state === "refused";
    const state = document.createElement(refused ? "p" : "span");
    state.className = refused ? "field-error" : "muted";
    state.dataset.state = entry.state;
    const label = (entry.field || "").replace(/_/g, " ");
    state.textContent = refused
      ? `Not sent: ${label && !entry.message.startsWith(label) ? `${label}: ` : ""}${entry.message}`
      : entry.state === "signin" && entry.user && entry.user !== form.dataset.user
        ? ` saved ${when} by ${entry.user}, waiting for ${entry.user} to sign in`
      : entry.state === "signin" ? ` saved ${when}, waiting for you to sign in`
      : ` saved ${when}, waiting to send`;
    li.append(what, state);
    if (refused) {
      const fix = document.createElement("button");
      fix.type = "button";
      fix.textContent = "Fix it";
      fix.addEventListener("click", () => loadIntoForm(entry));
      const drop = document.createElement("button");
      drop.type = "button";
      drop.className = "plain";
      drop.textContent = "Discard";
      drop.addEventListener("click", async () => {
        if (!window.confirm("Discard this report? It was not sent.")) return;
        await Queue.remove(entry.key);
        if (editing === entry.key) editing = null;
        await show(null);
      });
      li.append(" ", fix, " ", drop);
    }
    return li;
  }

  function showSent(sent) {
    if (!sent || !sent.length) return;
    sentBox.hidden = false;
    sentBox.textContent = `Sent from this phone: `;
    sent.forEach((s, i) => {
      const link = document.createElement("a");
      link.href = s.url;
      link.textContent = s.reference;
      sentBox.append(i ? ", " : "", link);
    });
  }

  async function show(result) {
    const entries = await Queue.all();
    const waiting = entries.filter((e) => e.state !== "refused");
    const refused = entries.length - waiting.length;
    const needsSignIn = waiting.some((e) => e.state === "signin");
    box.hidden = entries.length === 0;
    box.dataset.waiting = String(waiting.length);
    const parts = [];
    if (waiting.length) {
      parts.push(needsSignIn
        ? `Sign in to send: ${plural(waiting.length, "report")} waiting on this phone.`
        : `Waiting to send: ${plural(waiting.length, "report")} kept on this phone, sent when the network is back.`);
    }
    if (refused) parts.push(`${plural(refused, "report")} to fix before sending.`);
    status.textContent = parts.join(" ");
    signIn.hidden = !needsSignIn;
    list.replaceChildren(...entries.map(item));
    if (result) showSent(result.sent);
  }

  async function send() {
    if (navigator.onLine === false) return show(null);
    return show(await Queue.flush());
  }

  function askBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready
      .then((reg) => reg.sync && reg.sync.register("send-reports"))
      .catch(() => { /* the page sends when the network is back */ });
  }

  async function photosOf() {
    return Promise.all([...photoInput.files].map(async (f) => ({
      name: f.name, type: f.type, blob: new Blob([await f.arrayBuffer()], { type: f.type }),
    })));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    let entry;
    try {
      const fields = [...new FormData(form)].filter(([k]) => !SKIP.has(k)).map(([k, v]) => [k, String(v)]);
      entry = await Queue.save(fields, await photosOf(), editing, form.dataset.user);
    } catch (e) {
      form.submit(); // the phone cannot keep it: the plain form post
      return;
    }
    editing = null;
    clearFieldErrors();
    try {
      const result = navigator.onLine === false
        ? { state: "offline", sent: [], refused: [] } : await Queue.flush();
      const mine = result.sent.find((s) => s.key === entry.key);
      if (mine) {
        window.location.assign(`${mine.url}?notice=${encodeURIComponent(`Reported as ${mine.reference}`)}`);
        return;
      }
      const refused = result.refused.find((e) => e.key === entry.key);
      if (refused) {
        editing = refused.key;
        showFieldError(refused.field, refused.message);
      } else {
        form.reset();
        askBackgroundSync();
      }
      await show(result);
    } finally {
      button.disabled = false;
    }
  });

  window.addEventListener("online", () => { send(); });
  // A network that is back in name only: try again now and then while reports wait.
  setInterval(async () => {
    if (navigator.onLine !== false && (await Queue.all()).some((e) => e.state !== "refused")) send();
  }, 30000);
  // A page kept for offline use was made for one machine; the link may name another.
  const asked = new URLSearchParams(window.location.search).get("asset");
  const assetField = form.elements.asset;
  if (asked && assetField && [...assetField.options].some((o) => o.value === asked.toUpperCase())) {
    assetField.value = asked.toUpperCase();
  }
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "reports") show(event.data.result);
    });
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      /* no offline copy of the page; the reports are still kept while it stays open */
    });
  }
  send();
})();
