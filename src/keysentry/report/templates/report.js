"use strict";
// Sorting and filtering of the report's tables: the keys, and an audit's repositories. The
// page reads the same without it: the controls stay hidden, the rows keep the order the
// report chose (most urgent first).
(function () {
  // table: the <table>; items: its sortable rows (one <tbody> per key, one <tr> per
  // repository); tests: [control, (item, value) -> shown]; noun: what the rows are.
  function controls(table, items, form, tests, shown, noun) {
    function applyFilters() {
      var n = 0;
      items.forEach(function (item) {
        var ok = tests.every(function (t) {
          var value = t[0].value.trim().toLowerCase();
          return !value || t[1](item, value);
        });
        item.hidden = !ok;
        if (ok) { n += 1; }
      });
      shown.textContent = n === items.length
        ? "showing all " + n + " " + noun
        : "showing " + n + " of " + items.length + " " + noun;
    }

    function sortBy(th) {
      var field = th.dataset.sort;
      var numeric = th.dataset.numeric === "1";
      var descending = th.getAttribute("aria-sort") === "ascending";
      table.querySelectorAll("th[data-sort]").forEach(function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var sign = descending ? -1 : 1;
      items.sort(function (a, b) {
        var x = a.dataset[field], y = b.dataset[field];
        if (numeric) { return sign * (Number(x) - Number(y)); }
        // Empty values (no commit date, ...) go last whichever the direction.
        if (x === "" && y !== "") { return 1; }
        if (y === "" && x !== "") { return -1; }
        return sign * x.localeCompare(y);
      });
      items.forEach(function (item) { item.parentNode.appendChild(item); });
    }

    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent.toLowerCase();
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(th); });
    });
    tests.forEach(function (t) {
      t[0].addEventListener(t[0].tagName === "SELECT" ? "change" : "input", applyFilters);
    });
    form.hidden = false;
    applyFilters();
  }

  function equals(field) {
    return function (item, value) { return item.dataset[field] === value; };
  }

  function contains(field) {
    return function (item, value) { return item.dataset[field].indexOf(value) !== -1; };
  }

  function oneOf(field) {  // a space-separated list of the values the row answers to
    return function (item, value) {
      return (" " + item.dataset[field] + " ").indexOf(" " + value + " ") !== -1;
    };
  }

  function byId(id) { return document.getElementById(id); }

  var keys = byId("keys");
  if (keys) {
    controls(keys, Array.prototype.slice.call(keys.querySelectorAll("tbody.key")),
      byId("filters"),
      [[byId("f-status"), equals("status")], [byId("f-exposure"), equals("exposure")],
       [byId("f-where"), contains("where")]],
      byId("shown"), "keys");
  }
  var repositories = byId("repositories");
  if (repositories) {
    controls(repositories, Array.prototype.slice.call(repositories.querySelectorAll("tr.repo")),
      byId("repository-filters"),
      [[byId("r-result"), oneOf("result")], [byId("r-name"), contains("name")]],
      byId("repositories-shown"), "repositories");
  }
})();
