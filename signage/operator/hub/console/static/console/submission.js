// Import progress on the submission page: polls div#import-progress's data-url (JSON) and reloads when done.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var done = box.querySelector(".done");
  var total = box.querySelector(".total");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.finished) { window.location.reload(); return; }
        done.textContent = data.done;
        if (data.total) {
          bar.max = data.total;
          bar.value = Math.min(data.done, data.total);
          total.textContent = " / " + data.total;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
