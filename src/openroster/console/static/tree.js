// The department tree of templates/departments.html: the WAI-ARIA tree pattern (one tab stop,
// arrow keys, Home/End, Enter), each level fetched from the server when it is first opened.
(function () {
  "use strict";
  var tree = document.querySelector('[role="tree"]');
  if (!tree) {
    return;
  }
  var ITEM = '[role="treeitem"]';

  function parentItem(item) {
    return item.parentElement ? item.parentElement.closest(ITEM) : null;
  }

  function group(item) {
    return item.querySelector(':scope > [role="group"]');
  }

  function visibleItems() {
    return Array.prototype.filter.call(tree.querySelectorAll(ITEM), function (item) {
      for (var p = parentItem(item); p; p = parentItem(p)) {
        if (p.getAttribute("aria-expanded") !== "true") {
          return false;
        }
      }
      return true;
    });
  }

  function focus(item) {
    tree.querySelectorAll(ITEM + '[tabindex="0"]').forEach(function (other) {
      other.setAttribute("tabindex", "-1");
    });
    item.setAttribute("tabindex", "0");
    item.focus();
  }

  // The server's fragment of tree items (user data escaped there), as nodes.
  function fetchItems(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (reply) {
        if (!reply.ok) {
          throw new Error("HTTP " + reply.status);
        }
        return reply.text();
      })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        return holder.content;
      });
  }

  function settle(item) {
    item.removeAttribute("aria-busy");
  }

  function expand(item) {
    if (item.getAttribute("aria-expanded") !== "false") {
      return;
    }
    if (group(item)) {
      item.setAttribute("aria-expanded", "true");
      return;
    }
    item.setAttribute("aria-busy", "true");
    fetchItems(item.dataset.children).then(function (items) {
      var level = document.createElement("ul");
      level.setAttribute("role", "group");
      level.appendChild(items);
      item.appendChild(level);
      item.setAttribute("aria-expanded", "true");
      settle(item);
    }, function () {
      settle(item);
    });
  }

  function collapse(item) {
    if (item.getAttribute("aria-expanded") === "true") {
      item.setAttribute("aria-expanded", "false");
    }
  }

  // A "more" item: replaced by the next page of its level; focus goes to the first new item.
  function more(item) {
    item.setAttribute("aria-busy", "true");
    fetchItems(item.dataset.more).then(function (items) {
      var first = items.querySelector(ITEM);
      item.replaceWith(items);
      if (first) {
        focus(first);
      }
    }, function () {
      settle(item);
    });
  }

  function activate(item) {
    if (item.dataset.more) {
      more(item);
      return;
    }
    var link = item.querySelector(":scope > .node a");
    if (link) {
      link.click();
    }
  }

  tree.addEventListener("keydown", function (event) {
    var item = event.target.closest(ITEM);
    if (!item) {
      return;
    }
    var items = visibleItems();
    var at = items.indexOf(item);
    var state = item.getAttribute("aria-expanded");
    switch (event.key) {
      case "ArrowDown":
        if (at < items.length - 1) {
          focus(items[at + 1]);
        }
        break;
      case "ArrowUp":
        if (at > 0) {
          focus(items[at - 1]);
        }
        break;
      case "Home":
        focus(items[0]);
        break;
      case "End":
        focus(items[items.length - 1]);
        break;
      case "ArrowRight":
        if (state === "false") {
          expand(item);
        } else if (state === "true" && group(item) && group(item).querySelector(ITEM)) {
          focus(group(item).querySelector(ITEM));
        }
        break;
      case "ArrowLeft":
        if (state === "true") {
          collapse(item);
        } else if (parentItem(item)) {
          focus(parentItem(item));
        }
        break;
      case "Enter":
        activate(item);
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  tree.addEventListener("click", function (event) {
    var item = event.target.closest(ITEM);
    if (!item || event.target.closest("a")) {
      return;
    }
    focus(item);
    if (item.dataset.more) {
      more(item);
    } else if (item.getAttribute("aria-expanded") === "false") {
      expand(item);
    } else {
      collapse(item);
    }
  });
})();
