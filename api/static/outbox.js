// The inspector's offline queue: grades wait in localStorage with their event_ids (the card's
// page's id and the stream: one grade per stream per scan) and go to
// POST /api/v1/events:batch when the network is there. The server replays a known event_id
// instead of crediting it again, so resending is always safe; only a definite answer (a
// result for that event_id) takes an item off the queue.
//
// A grade's photo is shrunk on the phone (a canvas, at most 1280 px on the long side, JPEG)
// and kept with it as a data: URL. Before its batch is sent, the photo goes to
// POST /api/v1/photos; the returned ref becomes the event's photo_ref and is kept with the
// grade, so a resend names the same photo (the upload is idempotent by content anyway).
//
// In the inspector's app (issue 14): each grade carries its capture time (`captured_at`, the
// moment of the tap with the phone's UTC offset); the box shows when a batch was last answered;
// a recorded grade beeps and vibrates and, opened from the in-app scanner (?scan=1), goes
// straight back to it. Offline, the worker's copy of /app/grade stands in for any card's page:
// it reads the card's token from its URL and keeps its own event id there (?event=…), as the
// server's redirect does online, so a reload or a double tap is still one grade per stream.
(function () {
  "use strict";
  var KEY = "greenledger.outbox.v1";
  var LOG_KEY = "greenledger.outbox.log.v1";
  var SYNCED_KEY = "greenledger.outbox.synced.v1";
  var POINT_KEY = "greenledger.point.v1";
  var FEEDBACK_KEY = "greenledger.feedback";
  var BACK_TO_SCANNER_MS = 250;  // long enough for the beep to be heard
  var LOG_MAX = 20;
  var BATCH_MAX = 100;
  var PHOTO_SIDE_MAX = 1280;
  var PHOTO_QUALITY = 0.7;
  var box = document.getElementById("outbox");
  if (!box) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var text = function (name) { return box.dataset["text" + name] || name; };

  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function write(key, value) { localStorage.setItem(key, JSON.stringify(value)); render(); }
  function queue() { return read(KEY); }

  function uuid4() {  // crypto.randomUUID needs a secure context; getRandomValues does not
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localIso(date) {  // 2026-12-06T23:58:00+08:00: the phone's wall clock and offset
    var offset = -date.getTimezoneOffset(), minutes = Math.abs(offset);
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
      (offset < 0 ? "-" : "+") + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function log(line, kind) {
    var entries = read(LOG_KEY);
    entries.unshift({ line: line, kind: kind, at: new Date().toLocaleTimeString() });
    try { write(LOG_KEY, entries.slice(0, LOG_MAX)); } catch (e) { render(); }  // storage full
  }

  // --- photos ---------------------------------------------------------------------------------
  function decodedImage(file) {  // createImageBitmap needs no URL (the CSP allows no blob:)
    function viaDataUrl() {
      return new Promise(function (resolve, reject) {
        var reader = new FileReader();
        reader.onerror = reject;
        reader.onload = function () {
          var image = new Image();
          image.onload = function () { resolve(image); };
          image.onerror = reject;
          image.src = reader.result;
        };
        reader.readAsDataURL(file);
      });
    }
    if (window.createImageBitmap) return createImageBitmap(file).catch(viaDataUrl);
    return viaDataUrl();
  }

  function shrink(file) {  // → a data:image/jpeg URL, at most PHOTO_SIDE_MAX px on the long side
    return decodedImage(file).then(function (image) {
      var width = image.naturalWidth || image.width, height = image.naturalHeight || image.height;
      var scale = Math.min(1, PHOTO_SIDE_MAX / Math.max(width, height, 1));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";  // JPEG has no transparency
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      if (image.close) image.close();
      return canvas.toDataURL("image/jpeg", PHOTO_QUALITY);
    });
  }

  function blobOf(dataUrl) {  // fetch(data:) would need connect-src data:, which the CSP refuses
    var comma = dataUrl.indexOf(",");
    var type = dataUrl.slice(5, comma).split(";")[0];
    var bytes = atob(dataUrl.slice(comma + 1));
    var array = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) array[i] = bytes.charCodeAt(i);
    return new Blob([array], { type: type });
  }

  function update(eventId, change) {  // change one queued item, as stored
    write(KEY, queue().map(function (item) {
      if (item.event.event_id === eventId) change(item);
      return item;
    }));
  }

  // Upload the photos of these items; false when the network (or the sign-in) is not there.
  async function uploadPhotos(items) {
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (!item.photo || item.event.photo_ref) continue;
      var response;
      try {
        response = await fetch("/api/v1/photos", {
          method: "POST", credentials: "same-origin",
          headers: { "content-type": "image/jpeg", "x-csrftoken": csrf },
          body: blobOf(item.photo)
        });
      } catch (e) { return false; }
      if (response.status === 401) { log(text("SignIn"), "error"); return false; }
      if (response.status >= 500 || response.status === 429) return false;
      if (response.ok) {
        var ref = (await response.json()).photo_ref;
        update(item.event.event_id, function (kept) { kept.event.photo_ref = ref; delete kept.photo; });
      } else {  // refused for good (too big, not an image): the grade still counts without it
        var body = {};
        try { body = await response.json(); } catch (e) { body = {}; }
        log(text("PhotoRefused") + ": " + item.label + " (" + (body.code || response.status) + ")", "error");
        update(item.event.event_id, function (kept) { delete kept.photo; });
      }
    }
    return true;
  }

  function render() {
    box.hidden = false;
    document.getElementById("outbox-pending").textContent = String(queue().length);
    document.getElementById("network-state").textContent = navigator.onLine ? text("Online") : text("Offline");
    var synced = localStorage.getItem(SYNCED_KEY);
    document.getElementById("outbox-synced").textContent =
      synced ? new Date(synced).toLocaleString() : text("NeverSynced");
    var list = document.getElementById("outbox-log");
    list.textContent = "";
    read(LOG_KEY).forEach(function (entry) {
      var item = document.createElement("li");
      item.className = entry.kind;
      item.textContent = entry.at + " · " + entry.line;
      list.appendChild(item);
    });
  }

  var flushing = false;
  async function flush() {
    // No network at all: nothing to try (the "online" event calls again). Online is no
    // promise, so a failed send still keeps everything.
    if (flushing || !navigator.onLine) return;
    flushing = true;
    try {
      while (queue().length) {
        if (!(await uploadPhotos(queue().slice(0, BATCH_MAX)))) break;
        var batch = queue().slice(0, BATCH_MAX);
        var response;
        try {
          response = await fetch("/api/v1/events:batch", {
            method: "POST", credentials: "same-origin",
            headers: { "content-type": "application/json", "x-csrftoken": csrf },
            body: JSON.stringify({ events: batch.map(function (item) { return item.event; }) })
          });
        } catch (e) { break; }  // offline: keep everything for later
        if (response.status === 401) { log(text("SignIn"), "error"); break; }
        if (!response.ok) break;
        var results = (await response.json()).results || [];
        localStorage.setItem(SYNCED_KEY, new Date().toISOString());
        var answered = {};
        results.forEach(function (result, index) {
          var item = batch[index];
          if (!item || result.event_id !== item.event.event_id || result.status >= 500) return;
          answered[item.event.event_id] = true;
          var body = result.body || {};
          if (result.status < 300) {
            var word = body.replayed ? text("Replayed") : text("Sent");
            log(word + ": " + item.label + " +" + (body.points_awarded || 0) + " " + text("Points"), "ok");
          } else {
            log(text("Refused") + ": " + item.label + " (" + (body.code || result.status) + ")", "error");
          }
        });
        var left = queue().filter(function (item) { return !answered[item.event.event_id]; });
        write(KEY, left);
        if (!Object.keys(answered).length) break;
      }
    } finally { flushing = false; render(); }
  }

  // The point's queue (api/static/queue.js) grades a resident's drop-off through this same
  // queue: kept, sent, retried and logged exactly as a card's grade is.
  window.greenledgerOutbox = {
    add: function (item) {
      write(KEY, queue().concat([item]));
      if (!navigator.onLine) log(item.label + " · " + text("Queued"), "queued");
      feedback();
      return flush();
    },
    pending: function () { return queue(); }
  };

  // A grade is recorded: a beep and a buzz (what each did is kept for the next page to read).
  function feedback() {
    var done = { vibrated: false, beep: "none" };
    try { done.vibrated = !!(navigator.vibrate && navigator.vibrate(80)); } catch (e) { done.vibrated = false; }
    try {
      var Audio = window.AudioContext || window.webkitAudioContext;
      if (Audio) {
        var audio = new Audio(), tone = audio.createOscillator(), gain = audio.createGain();
        tone.frequency.value = 880; gain.gain.value = 0.2;
        tone.connect(gain); gain.connect(audio.destination);
        tone.start(); tone.stop(audio.currentTime + 0.12);
        done.beep = audio.state;
      }
    } catch (e) { done.beep = "failed"; }
    sessionStorage.setItem(FEEDBACK_KEY, JSON.stringify(done));
  }

  var form = document.getElementById("grade-form");
  var fromScanner = new URLSearchParams(location.search).get("scan") === "1";
  if (form && form.dataset.shell) openedOffline(form);
  function openedOffline(shell) {  // the worker's copy of /app/grade, for /q/<token>
    var match = location.pathname.match(/^\/q\/([^/]+)/);
    var token = match ? decodeURIComponent(match[1]) : "";
    document.getElementById("card-name").textContent = token;
    var select = document.getElementById("point");
    var point = select.querySelector('option[value="' + CSS.escape(token) + '"]');
    if (point) {  // one of the inspector's points: the next cards are graded there
      localStorage.setItem(POINT_KEY, token);
      document.getElementById("card-name").textContent = point.textContent;
      document.getElementById("point-chosen").hidden = false;
      shell.hidden = true;
      return;
    }
    if (!/^1h\./.test(token)) {  // a post's code, or a point elsewhere: nothing to grade
      shell.hidden = true;
      document.getElementById("not-a-card").hidden = false;
      return;
    }
    var params = new URLSearchParams(location.search);
    var eventId = params.get("event") || "";
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(eventId)) {
      eventId = uuid4();
      params.set("event", eventId);
      history.replaceState(null, "", location.pathname + "?" + params.toString());
    }
    shell.querySelector('input[name="event_id"]').value = eventId;
    shell.dataset.householdToken = token;
    shell.dataset.label = token;
    shell.action = "/scan/" + encodeURIComponent(token) + "/grade";
    var chosen = localStorage.getItem(POINT_KEY);
    if (chosen && select.querySelector('option[value="' + CSS.escape(chosen) + '"]')) select.value = chosen;
  }
  var graded = {};  // event ids tapped on this page: the photo's await must not let a second in
  if (form) {
    var photoInput = document.getElementById("photo");
    var preview = document.getElementById("photo-preview");
    var shrunk = null;  // the chosen photo, being shrunk: a promise of its data: URL
    var clearPhoto = function () {
      shrunk = null;
      if (photoInput) photoInput.value = "";
      if (preview) { preview.hidden = true; preview.removeAttribute("src"); }
    };
    if (photoInput) {
      photoInput.addEventListener("change", function () {
        var file = photoInput.files && photoInput.files[0];
        if (!file) { clearPhoto(); return; }
        var mine = shrunk = shrink(file);
        mine.then(function (url) {
          if (shrunk === mine && preview) { preview.src = url; preview.hidden = false; }
        }, function () {});
      });
    }
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var button = event.submitter;
      var data = new FormData(form);
      // One event per stream for this opening of the card (its id is in the page's URL): a
      // double tap, or the same grade sent again after Back or a reload, is one grade.
      var eventId = (data.get("event_id") || uuid4()) + ":" + data.get("stream");
      if (graded[eventId]) { log(form.dataset.label + " · " + text("AlreadyGraded"), "queued"); return; }
      graded[eventId] = true;
      var capturedAt = localIso(new Date());  // the moment of the tap, not of the sending
      localStorage.setItem(POINT_KEY, data.get("point_token"));
      var item = {
        label: form.dataset.label + " · " + button.textContent.trim(),
        event: {
          type: "inspection",
          event_id: eventId,
          household_token: form.dataset.householdToken,
          point_token: data.get("point_token"),
          stream: data.get("stream"),
          grade: button.value,
          reasons: data.getAll("reasons"),
          captured_at: capturedAt
        }
      };
      var pending = shrunk || (photoInput && photoInput.files && photoInput.files[0]
        ? shrink(photoInput.files[0]) : null);
      form.querySelectorAll('input[name="reasons"]').forEach(function (box) { box.checked = false; });
      clearPhoto();
      var photo = null;
      if (pending) {
        try { photo = await pending; } catch (e) { log(text("PhotoUnreadable"), "error"); }
      }
      if (photo) {
        try {
          write(KEY, queue().concat([Object.assign({}, item, {
            photo: photo, label: item.label + " · " + text("WithPhoto")
          })]));
        } catch (e) {  // localStorage is full: never lose the grade for its photo
          photo = null;
          log(text("PhotoNotKept"), "error");
        }
      }
      if (!photo) write(KEY, queue().concat([item]));
      if (!navigator.onLine) log(item.label + " · " + text("Queued"), "queued");
      feedback();
      if (fromScanner) {
        setTimeout(function () { location.assign("/app/scan?auto=1"); }, BACK_TO_SCANNER_MS);
        return;
      }
      flush();
    });
  }
  document.getElementById("outbox-send").addEventListener("click", flush);
  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  render();
  flush();
})();
