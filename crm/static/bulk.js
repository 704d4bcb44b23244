/* A bulk-action bar over a list with checkboxes: <div data-bulk-bar="ids"> is shown only while at least one
   checkbox named "ids" is checked, says how many ([data-bulk-count], from data-count-label "{n} selected"),
   shows only the fields of the chosen action (data-bulk-for="transfer team") and what the action does (the
   chosen option's data-help, in [data-bulk-help]). Without script the bar simply stays visible. */
(function () {
  "use strict";
  document.querySelectorAll("[data-bulk-bar]").forEach(function (bar) {
    var name = bar.getAttribute("data-bulk-bar");
    var form = bar.closest("form") || document;
    var action = bar.querySelector("select[name=action]");
    var count = bar.querySelector("[data-bulk-count]");
    var help = bar.querySelector("[data-bulk-help]");

    function boxes() {
      return Array.prototype.filter.call(form.querySelectorAll("input[type=checkbox]"), function (b) { return b.name === name; });
    }

    function update() {
      var n = boxes().filter(function (b) { return b.checked; }).length;
      bar.classList.toggle("d-none", n === 0);
      if (count) { count.textContent = (bar.dataset.countLabel || "{n}").replace("{n}", String(n)); }
      var chosen = action ? action.value : "";
      bar.querySelectorAll("[data-bulk-for]").forEach(function (el) {
        var wanted = el.getAttribute("data-bulk-for").split(" ").indexOf(chosen) >= 0;
        el.classList.toggle("d-none", !wanted);
      });
      if (help && action) {
        var option = action.options[action.selectedIndex];
        help.textContent = option && option.dataset.help ? option.dataset.help : "";
      }
    }

    document.addEventListener("change", function (event) {
      var t = event.target;
      if (t instanceof HTMLInputElement && t.type === "checkbox") { setTimeout(update, 0); }
      if (t === action) { update(); }
    });
    update();
  });
})();
