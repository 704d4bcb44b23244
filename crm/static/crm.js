// Small behaviours shared by every page, wired by data attributes instead of inline handlers (the
// Content-Security-Policy runs scripts from our own files only; see crm/core/web.py).
//   <select data-autosubmit>        submits its form when the choice changes (filters);
//   <input data-select-all="ids">   checks or clears every checkbox named "ids" (list selections);
//   <input data-filter-select="id"> shows only the options of <select id="id"> whose name holds what is
//                                   typed (pickers of people by name; chosen options stay shown; a
//                                   store's <optgroup> with nothing left is hidden).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.matches("[data-autosubmit]") && target.form) {
      target.form.submit();
      return;
    }
    if (target.matches("input[type=checkbox][data-select-all]")) {
      var name = target.getAttribute("data-select-all");
      document.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        if (box.name === name) box.checked = target.checked;
      });
    }
  });
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || !target.matches("input[data-filter-select]")) return;
    var select = document.getElementById(target.getAttribute("data-filter-select"));
    if (!select) return;
    var wanted = target.value.trim().toLowerCase();
    Array.prototype.forEach.call(select.options, function (option) {
      option.hidden = wanted !== "" && !option.selected && option.text.toLowerCase().indexOf(wanted) < 0;
    });
    // A group (a store's people) whose options are all hidden is hidden with them.
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = Array.prototype.every.call(group.children, function (option) { return option.hidden; });
    });
  });
})();
