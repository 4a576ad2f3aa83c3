// The in-app scanner (issue 14 #2): the Scan button opens the back camera and reads QR codes
// with the browser's BarcodeDetector where it has one, else with jsQR (a pinned copy under
// /static/vendor, README "The inspector's app"). A card's code opens its grading form with
// ?scan=1, and a grade there comes straight back here, camera on, for the next card.
// The card just graded is usually still in front of the camera: it is skipped until the camera
// has seen something else.
(function () {
  "use strict";
  var FRAME_PAUSE_MS = 120;
  var LAST_KEY = "greenledger.scan.last";
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  var start = document.getElementById("scan-start");
  var status = document.getElementById("scan-status");
  if (!video || !canvas || !start) return;
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var skip = sessionStorage.getItem(LAST_KEY);
  var running = false;
  window.greenledgerScan = { result: null, error: null, decoder: null, skipped: 0 };

  function tokenOf(text) {  // a card's URL (…/q/<token>) or the bare token
    var token = String(text || "").trim().split("/q/").pop().split(/[?#]/)[0].replace(/\/+$/, "");
    try { return decodeURIComponent(token); } catch (e) { return token; }
  }

  function openCard(text) {
    var token = tokenOf(text);
    if (!token) return;
    sessionStorage.setItem(LAST_KEY, token);
    location.assign("/q/" + encodeURIComponent(token) + "?scan=1");
  }

  function decoder() {
    if ("BarcodeDetector" in window) {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      window.greenledgerScan.decoder = "BarcodeDetector";
      return function () {
        return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      };
    }
    window.greenledgerScan.decoder = "jsQR";
    return function () {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      return Promise.resolve(found ? found.data : null);
    };
  }

  async function scan() {
    if (running) return;
    running = true;
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" }, audio: false
      });
      video.hidden = false;
      await video.play();
      status.textContent = status.dataset.textScanning;
      var read = decoder();
      for (;;) {
        var text = video.videoWidth ? await read().catch(function () { return null; }) : null;
        var token = text ? tokenOf(text) : null;
        if (token && token !== skip) {
          window.greenledgerScan.result = text;
          video.srcObject.getTracks().forEach(function (track) { track.stop(); });
          openCard(text);
          return;
        }
        if (token && token === skip) window.greenledgerScan.skipped += 1;
        else skip = null;  // the last card has left the picture
        await new Promise(function (resolve) { setTimeout(resolve, FRAME_PAUSE_MS); });
      }
    } catch (e) {
      window.greenledgerScan.error = String(e);
      status.textContent = status.dataset.textNoCamera;
      status.className = "error";
      running = false;
    }
  }

  start.addEventListener("click", scan);
  // Typing the code works offline too: straight to the card's page, which the worker serves.
  var typed = document.querySelector("form.typed-code");
  if (typed) {
    typed.addEventListener("submit", function (event) {
      event.preventDefault();
      openCard(typed.querySelector('input[name="code"]').value);
    });
  }
  // Back from a grade: the camera again, no tap needed (the permission is already given).
  if (new URLSearchParams(location.search).get("auto") === "1") scan();
})();
