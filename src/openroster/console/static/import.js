// The import (templates/import.html): the chosen file is sent as the request body, its upload shown
// in the progress bar; while the server checks and writes, the bar is indeterminate; then the
// result the server rendered replaces it.
(function () {
  "use strict";
  var form = document.getElementById("import");
  if (!form) {
    return;
  }
  var input = document.getElementById("sheet");
  var holder = document.getElementById("import-progress");
  var bar = document.getElementById("import-bar");
  var result = document.getElementById("import-result");
  var button = form.querySelector("button[type=submit]");

  function show(html) {
    holder.hidden = true;
    button.disabled = false;
    var parsed = document.createElement("template");
    parsed.innerHTML = html;
    result.replaceChildren(parsed.content);
  }

  function failed(message) {
    var p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.className = "error";
    p.textContent = form.dataset.failed.replace("{message}", message);
    holder.hidden = true;
    button.disabled = false;
    result.replaceChildren(p);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = input.files && input.files[0];
    if (!file) {
      failed(form.dataset.choose);
      return;
    }
    var dryRun = form.elements.dry_run.checked ? "?dry_run=1" : "";
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("action") + dryRun);
    request.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
      }
    });
    request.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server works
    });
    request.addEventListener("load", function () {
      if (request.status === 200) {
        show(request.responseText);
      } else {
        failed("HTTP " + request.status);
      }
    });
    request.addEventListener("error", function () {
      failed("the connection was lost");
    });
    result.replaceChildren();
    bar.value = 0;
    holder.hidden = false;
    button.disabled = true;
    request.send(file);
  });
})();
