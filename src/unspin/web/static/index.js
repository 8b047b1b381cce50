// The paste/upload form: say at once when a file is over the server's size limit, before uploading it.
(function () {
  "use strict";
  var form = document.getElementById("analyze-form");
  var file = document.getElementById("file");
  var error = document.getElementById("form-error");
  if (!form || !file || !error) { return; }
  var limit = parseInt(form.dataset.maxBytes, 10);

  function tooLarge() {
    var chosen = file.files && file.files[0];
    return chosen && limit > 0 && chosen.size > limit ? chosen : null;
  }

  function check() {
    var chosen = tooLarge();
    if (chosen) {
      error.textContent = chosen.name + " is " + (chosen.size / 1048576).toFixed(1) + " MB; the limit is " +
        (limit / 1048576).toFixed(1) + " MB.";
      error.hidden = false;
    } else if (error.dataset.fromClient) {
      error.hidden = true;
    }
    if (chosen) { error.dataset.fromClient = "1"; }
    return !chosen;
  }

  file.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (!check()) { event.preventDefault(); }
  });
}());
