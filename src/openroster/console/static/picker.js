// Pickers (console/pickers.py): a field with data-pick becomes a WAI-ARIA combobox. What is typed
// (for a list of IDs, what follows the last comma) is sent to the server, whose options (user data
// escaped there) fill the field's listbox; ArrowDown/ArrowUp move through them, Enter or a click
// puts the chosen ID into the field, Escape closes the list. Without script the field takes IDs.
(function () {
  "use strict";
  var DELAY_MS = 150;

  function setUp(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var multiple = input.hasAttribute("data-multiple");
    var timer = null;
    var asked = 0;
    var active = -1;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("autocomplete", "off");

    // [what stays, the word being typed]
    function parts() {
      var value = input.value;
      if (!multiple) {
        return ["", value];
      }
      var cut = Math.max(value.lastIndexOf(","), value.lastIndexOf("，")) + 1;
      return [value.slice(0, cut), value.slice(cut)];
    }

    function options() {
      return list.querySelectorAll('[role="option"]');
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function mark(index) {
      var all = options();
      for (var i = 0; i < all.length; i += 1) {
        all[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(option) {
      var kept = parts()[0];
      if (multiple) {
        input.value = (kept ? kept.replace(/\s*$/, " ") : "") + option.dataset.value + ", ";
      } else {
        input.value = option.dataset.value;
      }
      close();
      input.focus();
    }

    function ask() {
      var word = parts()[1].trim();
      asked += 1;
      var mine = asked;
      if (!word) {
        close();
        return;
      }
      fetch(input.dataset.pick + "?q=" + encodeURIComponent(word), {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      })
        .then(function (reply) {
          return reply.ok ? reply.text() : "";
        })
        .then(
          function (html) {
            if (mine !== asked || document.activeElement !== input) {
              return;
            }
            var holder = document.createElement("template");
            holder.innerHTML = html;
            list.replaceChildren(holder.content);
            var all = options();
            for (var i = 0; i < all.length; i += 1) {
              all[i].id = list.id + "-" + i;
            }
            list.hidden = false;
            input.setAttribute("aria-expanded", "true");
            mark(-1);
          },
          function () {
            close(); // the page went away, or the server did: the field still takes IDs
          }
        );
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      var count = options().length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) {
          ask();
        } else if (count) {
          var step = event.key === "ArrowDown" ? 1 : -1;
          mark((active + step + count) % count);
        }
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        choose(options()[active]);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", close);
    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keeps the focus in the field
    });
    list.addEventListener("click", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option) {
        choose(option);
      }
    });
  }

  document.querySelectorAll("input[data-pick]").forEach(setUp);
})();
