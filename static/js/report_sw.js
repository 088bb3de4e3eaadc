// The report page's service worker, served at /sw.js: it keeps the report page and what
// it loads so that the page opens without a network, and sends the reports waiting on the
// phone when the browser says the network is back (Background Sync, where there is one).
importScripts("/static/js/report_queue.js");

const CACHE = "plantops-report-v1";
const PAGE = "/anomalies/new";
const FILES = [
  "/static/css/plantops.css",
  "/static/favicon.svg",
  "/static/js/pages.js",
  "/static/js/report_queue.js",
  "/static/js/anomaly_new.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(FILES);
      await keepPage(cache, await fetch(PAGE, { credentials: "same-origin" }).catch(() => null));
      await self.skipWaiting();
    })()
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })()
  );
});

// Only the signed-in report page is kept, never the sign-in page it may redirect to.
async function keepPage(cache, response) {
  if (response && response.ok && !response.redirected && new URL(response.url).pathname === PAGE) {
    await cache.put(PAGE, response.clone());
  }
}

// The network first (fresh page, fresh token); the kept copy when it is not there.
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (key === PAGE) await keepPage(cache, response);
    else if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    // Signed out: the kept page (with that person's name) goes; the reports stay.
    event.waitUntil(caches.open(CACHE).then((cache) => cache.delete(PAGE)));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(networkFirst(request, PAGE));
  } else if (FILES.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});

async function sendAndTell() {
  const result = await self.ReportQueue.flush();
  for (const client of await self.clients.matchAll({ type: "window" })) {
    client.postMessage({ type: "reports", result });
  }
  return result;
}

self.addEventListener("sync", (event) => {
  // Still no network: failing the event has the browser try again later.
  if (event.tag !== "send-reports") return;
  event.waitUntil(
    sendAndTell().then((result) => {
      if (result.state === "offline") throw new Error("still offline");
    })
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "send-reports") event.waitUntil(sendAndTell());
});
