"use strict";
// Sorting and filtering of the key table. The page reads the same without it: the controls
// stay hidden, the rows keep the order the report chose (most urgent first).
(function () {
  var table = document.getElementById("keys");
  if (!table) { return; }
  var bodies = Array.prototype.slice.call(table.querySelectorAll("tbody.key"));
  var shown = document.getElementById("shown");
  var status = document.getElementById("f-status");
  var exposure = document.getElementById("f-exposure");
  var where = document.getElementById("f-where");

  function applyFilters() {
    var s = status.value, e = exposure.value, w = where.value.trim().toLowerCase();
    var n = 0;
    bodies.forEach(function (b) {
      var ok = (!s || b.dataset.status === s) &&
               (!e || b.dataset.exposure === e) &&
               (!w || b.dataset.where.indexOf(w) !== -1);
      b.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n === bodies.length
      ? "showing all " + n + " keys"
      : "showing " + n + " of " + bodies.length + " keys";
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
    bodies.sort(function (a, b) {
      var x = a.dataset[field], y = b.dataset[field];
      if (numeric) { return sign * (Number(x) - Number(y)); }
      // Empty values (no commit date, ...) go last whichever the direction.
      if (x === "" && y !== "") { return 1; }
      if (y === "" && x !== "") { return -1; }
      return sign * x.localeCompare(y);
    });
    bodies.forEach(function (b) { table.appendChild(b); });
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
  [status, exposure].forEach(function (el) { el.addEventListener("change", applyFilters); });
  where.addEventListener("input", applyFilters);
  document.getElementById("filters").hidden = false;
  applyFilters();
})();
