// File uploads (templates/import.html: a spreadsheet to import, a snapshot to restore): the chosen
// file is sent as the request body with the session's CSRF token in a header, its upload shown in
// the form's progress bar; while the server checks and writes, the bar is indeterminate; then the
// result the server rendered replaces it.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var holder = document.getElementById(form.dataset.progress);
    var bar = holder.querySelector("progress");
    var result = document.getElementById(form.dataset.result);
    var button = form.querySelector("button[type=submit]");

    function done() {
      holder.hidden = true;
      button.disabled = false;
    }

    function show(html) {
      done();
      var parsed = document.createElement("template");
      parsed.innerHTML = html;
      result.replaceChildren(parsed.content);
    }

    function failed(message) {
      var p = document.createElement("p");
      p.setAttribute("role", "alert");
      p.className = "error";
      p.textContent = form.dataset.failed.replace("{message}", message);
      done();
      result.replaceChildren(p);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = input.files && input.files[0];
      if (!file) {
        failed(form.dataset.choose);
        return;
      }
      var dryRun = form.elements.dry_run && form.elements.dry_run.checked ? "?dry_run=1" : "";
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
  });
})();
