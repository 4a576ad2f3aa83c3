// The inspector app's service worker (issue 14 #1), served at /sw.js so its scope is "/".
// Online, everything still comes from the server (network first); the static files are kept
// as they pass. Offline, a page comes from the copies api/static/app.js keeps, and any
// /q/<token> from /app/grade, which reads the token from its own URL. The API is never
// cached: grades wait in the pages' queue (api/static/outbox.js), not here.
"use strict";
var STATIC_CACHE = "greenledger-static-v1";
var PAGES_CACHE = "greenledger-pages-v1";
var STATIC = [
  "/static/pages.css",
  "/static/outbox.js",
  "/static/app.js",
  "/static/scan.js",
  "/static/vendor/jsqr-1.4.0/jsQR.js",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/manifest.webmanifest"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(STATIC);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key !== STATIC_CACHE && key !== PAGES_CACHE;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function offlinePage(url) {
  if (url.pathname.indexOf("/q/") === 0) return caches.match("/app/grade", { cacheName: PAGES_CACHE });
  if (url.pathname === "/open") {  // a code typed on the inspector's page
    var code = (url.searchParams.get("code") || "").trim();
    var token = code.split("/q/").pop().replace(/\/+$/, "");
    return Promise.resolve(Response.redirect("/q/" + encodeURIComponent(token), 303));
  }
  return caches.match(url.pathname, { cacheName: PAGES_CACHE });
}

function fromNetworkKeeping(request) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return offlinePage(url).then(function (page) { return page || Response.error(); });
    }));
    return;
  }
  var path = url.pathname;
  if (path.indexOf("/static/") === 0 || path === "/manifest.webmanifest") {
    event.respondWith(fromNetworkKeeping(request));
  }
});
