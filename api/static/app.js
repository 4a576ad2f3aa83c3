// The inspector's app (issue 14 #1): registers the service worker (served at /sw.js) and, while
// online and signed in, keeps copies of the inspector's pages in the "greenledger-pages" cache,
// which the worker answers from when the network is gone: /app/grade for any /q/<token>.
// When the copies are stored, <html data-app-cached="1"> says so.
(function () {
  "use strict";
  var PAGES_CACHE = "greenledger-pages-v1";
  var PAGES = ["/inspector", "/app/scan", "/app/grade"];
  if (!("serviceWorker" in navigator) || !window.caches) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  // Signing out: the copies (which name the inspector) go before the form does.
  var signOut = document.querySelector('form[action="/logout"]');
  if (signOut) {
    signOut.addEventListener("submit", function (event) {
      event.preventDefault();
      caches.delete(PAGES_CACHE).finally(function () { signOut.submit(); });
    });
  }
  if (!navigator.onLine) return;

  function keep(cache, path) {
    return fetch(path, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      // Only a real page: signed out, the server answers with the sign-in form instead.
      if (response.ok && !response.redirected) return cache.put(path, response);
      throw new Error(path + ": " + response.status);
    });
  }

  caches.open(PAGES_CACHE).then(function (cache) {
    return Promise.all(PAGES.map(function (path) { return keep(cache, path); }));
  }).then(function () {
    document.documentElement.dataset.appCached = "1";
  }, function () {
    document.documentElement.dataset.appCached = "0";
  });
})();
