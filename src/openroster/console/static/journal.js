// Live tables (console/live.py: the journal's calls, a tenant's change records): new rows arrive by
// server-sent events as table rows the server rendered; a call's page (templates/journal_call.html):
// its "Copy as curl" button.
(function () {
  "use strict";
  // Each table[data-stream] grows by the rows its stream sends; data-live names the element that
  // counts them (its data-template holds "{n}"), data-none the note shown while there are none.
  document.querySelectorAll("table[data-stream]").forEach(function (table) {
    if (!window.EventSource) {
      return;
    }
    var body = table.querySelector("tbody");
    var live = document.getElementById(table.dataset.live);
    var arrived = 0;
    var source = new EventSource(table.dataset.stream);
    source.addEventListener("entry", function (event) {
      var holder = document.createElement("template");
      holder.innerHTML = "<table><tbody>" + event.data + "</tbody></table>";
      var row = holder.content.querySelector("tr");
      if (row) {
        body.insertBefore(row, body.firstChild);
        arrived += 1;
        var none = document.getElementById(table.dataset.none);
        if (none) {
          none.remove();
        }
        table.hidden = false;
        live.textContent = live.dataset.template.replace("{n}", String(arrived));
      }
    });
  });
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      var status = document.getElementById("copy-status");
      var done = function () {
        status.textContent = button.dataset.done;
      };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(done, function () {
          window.getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
        });
      } else {
        window.getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
      }
    });
  });
})();
