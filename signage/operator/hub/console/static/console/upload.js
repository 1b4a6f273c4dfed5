// Upload progress for form#upload-form: sends the form with XMLHttpRequest and fills progress#upload-progress.
// The failure message comes translated in data-failed. Without JavaScript the form posts as usual; on any error the page the server answered is shown as is.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var button = document.getElementById("upload-submit");
  if (!form || !bar || !window.XMLHttpRequest || !window.FormData) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
        status.textContent = Math.round((100 * e.loaded) / e.total) + "%";
      }
    });
    request.addEventListener("load", function () {
      if (request.responseURL && request.responseURL !== window.location.href && request.status < 400) {
        window.location.assign(request.responseURL);
        return;
      }
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      status.textContent = status.dataset.failed;
    });
    request.send(new FormData(form));
  });
})();
