// The inspector's offline queue: grades wait in localStorage with their event_ids and go to
// POST /api/v1/events:batch when the network is there. The server replays a known event_id
// instead of crediting it again, so resending is always safe; only a definite answer (a
// result for that event_id) takes an item off the queue.
(function () {
  "use strict";
  var KEY = "greenledger.outbox.v1";
  var LOG_KEY = "greenledger.outbox.log.v1";
  var LOG_MAX = 20;
  var BATCH_MAX = 100;
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

  function log(line, kind) {
    var entries = read(LOG_KEY);
    entries.unshift({ line: line, kind: kind, at: new Date().toLocaleTimeString() });
    write(LOG_KEY, entries.slice(0, LOG_MAX));
  }

  function render() {
    box.hidden = false;
    document.getElementById("outbox-pending").textContent = String(queue().length);
    document.getElementById("network-state").textContent = navigator.onLine ? text("Online") : text("Offline");
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
    if (flushing) return;
    flushing = true;
    try {
      while (queue().length) {
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

  var form = document.getElementById("grade-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter;
      var data = new FormData(form);
      var item = {
        label: form.dataset.label + " · " + button.textContent.trim(),
        event: {
          type: "inspection",
          event_id: uuid4(),
          household_token: form.dataset.householdToken,
          point_token: data.get("point_token"),
          stream: data.get("stream"),
          grade: button.value,
          reasons: data.getAll("reasons")
        }
      };
      write(KEY, queue().concat([item]));
      if (!navigator.onLine) log(item.label + " · " + text("Queued"), "queued");
      form.querySelectorAll('input[name="reasons"]').forEach(function (box) { box.checked = false; });
      flush();
    });
  }
  document.getElementById("outbox-send").addEventListener("click", flush);
  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  render();
  flush();
})();
