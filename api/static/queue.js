// The collection point's live queue (issue 15 #5), on the inspector's page for the point:
// residents who scanned this point's code in the last 30 minutes, asked for every few seconds
// (GET /api/v1/points/{id}/queue) while the page is shown, without a reload. One tap grades a
// resident's drop-off in the chosen waste stream: the grade goes through the phone's queue
// (api/static/outbox.js, POST /api/v1/events:batch) like a card's grade, with the drop-off's
// id in place of the card's token, so a tap without network is kept and sent later.
(function () {
  "use strict";
  var POLL_MS = 4000;
  var STREAM_KEY = "greenledger.queue.stream.v1";
  var IDS_KEY = "greenledger.queue.events.v1";
  var section = document.getElementById("queue");
  var outbox = window.greenledgerOutbox;
  if (!section || !outbox || !window.fetch) return;
  var pointId = section.dataset.pointId, pointToken = section.dataset.pointToken;
  var list = document.getElementById("queue-list");
  var empty = document.getElementById("queue-empty");
  var state = document.getElementById("queue-state");
  var streamSelect = document.getElementById("queue-stream");
  var prototype = document.getElementById("queue-item");
  var text = function (name) { return section.dataset["text" + name] || name; };
  var items = [];
  var sent = {};  // "dropoff:stream" tapped on this page, until the server has answered it

  var chosen = localStorage.getItem(STREAM_KEY);
  if (chosen && streamSelect.querySelector('option[value="' + CSS.escape(chosen) + '"]')) {
    streamSelect.value = chosen;
  }
  streamSelect.addEventListener("change", function () {
    localStorage.setItem(STREAM_KEY, streamSelect.value);
    render();
  });

  function uuid4() {  // crypto.randomUUID needs a secure context; getRandomValues does not
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  // One event per drop-off and stream on this phone: a double tap, or a tap again after a
  // reload, replays the first instead of grading twice.
  function eventIdFor(key) {
    var ids = {};
    try { ids = JSON.parse(sessionStorage.getItem(IDS_KEY) || "{}"); } catch (e) { ids = {}; }
    if (!ids[key]) { ids[key] = uuid4(); sessionStorage.setItem(IDS_KEY, JSON.stringify(ids)); }
    return ids[key];
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localIso(date) {  // the tap's wall clock with the phone's offset, as outbox.js sends
    var offset = -date.getTimezoneOffset(), minutes = Math.abs(offset);
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()) +
      (offset < 0 ? "-" : "+") + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }
  function label(item) {  // a shop's or office's name, else the address in the page's language
    if (item.name) return item.name;
    return text("Address").replace("{building}", item.building)
      .replace("{unit}", item.unit).replace("{room}", item.room);
  }
  function clock(iso) { var at = new Date(iso); return pad(at.getHours()) + ":" + pad(at.getMinutes()); }
  function show(message) { state.textContent = message; state.hidden = !message; }

  function render() {
    var stream = streamSelect.value;
    list.textContent = "";
    empty.hidden = items.length > 0;
    items.forEach(function (item) {
      var key = item.dropoff_id + ":" + stream;
      var node = prototype.content.firstElementChild.cloneNode(true);
      node.dataset.dropoffId = String(item.dropoff_id);
      node.querySelector(".queue-label").textContent = label(item);
      node.querySelector(".queue-time").textContent = " · " + clock(item.dropped_at);
      var graded = item.graded_streams.indexOf(stream) >= 0;
      var note = node.querySelector(".queue-graded");
      var grades = node.querySelector(".queue-grades");
      if (graded || sent[key]) {
        note.textContent = " · " + (graded ? text("Graded") : text("Sending"));
        node.classList.add(graded ? "graded" : "sending");
        grades.remove();
      } else {
        grades.querySelectorAll("button").forEach(function (button) {
          button.addEventListener("click", function () { grade(item, stream, button); });
        });
      }
      list.appendChild(node);
    });
  }

  function grade(item, stream, button) {
    var key = item.dropoff_id + ":" + stream;
    if (sent[key]) return;
    sent[key] = true;
    render();
    outbox.add({
      label: label(item) + " · " + button.textContent.trim(),
      event: {
        type: "inspection",
        event_id: eventIdFor(key),
        dropoff_id: item.dropoff_id,
        point_token: pointToken,
        stream: stream,
        grade: button.dataset.grade,
        reasons: [],
        captured_at: localIso(new Date())
      }
    }).then(poll, poll);
  }

  var polling = false;
  function poll() {
    if (polling || document.hidden) return;
    polling = true;
    fetch("/api/v1/points/" + encodeURIComponent(pointId) + "/queue", {
      credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" }
    }).then(function (response) {
      if (response.status === 401) { show(text("SignIn")); return null; }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (body) {
      if (!body) return;
      show("");
      items = body.items || [];
      // A tap the server has answered (the event left the phone's queue) no longer waits:
      // graded, it shows so; refused (the log says why), its buttons come back.
      var waiting = {};
      outbox.pending().forEach(function (kept) { waiting[kept.event.event_id] = true; });
      Object.keys(sent).forEach(function (key) { if (!waiting[eventIdFor(key)]) delete sent[key]; });
      render();
    }).catch(function () {
      show(navigator.onLine ? "" : text("Offline"));
    }).then(function () {
      polling = false;
      section.dataset.polls = String(Number(section.dataset.polls || 0) + 1);
    });
  }

  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
  window.addEventListener("online", poll);
  poll();
})();
