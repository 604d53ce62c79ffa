{% load static %}// dothi service worker: keeps the shell (styles, scripts, icons, the offline page) so the app opens
// without a network. Pages and API answers are never cached: they can hold personal data.
"use strict";
const CACHE = "dothi-shell-{{ version }}";
const OFFLINE_URL = "{{ offline_url|escapejs }}";
const SHELL = [
  OFFLINE_URL,{% for url in shell_urls %}
  "{{ url|escapejs }}",{% endfor %}
];
const STATIC_PREFIX = "{{ static_prefix|escapejs }}";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("dothi-shell-") && key !== CACHE)
        .map((key) => caches.delete(key))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    // Network only; the cached offline page answers when the network is down.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_URL)));
    return;
  }
  if (url.pathname.startsWith(STATIC_PREFIX)) {
    // Static assets are public and versioned with the shell: cache first.
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
