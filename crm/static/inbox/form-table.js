// The rows of a task form's array fields (inbox/_form.html): add a row from the <template>, remove a
// row, renumber. No bundler, a few lines; a static file so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (!(event.target instanceof Element)) return;
    var add = event.target.closest(".add-row");
    if (add) {
      var box = add.closest(".form-table");
      var index = parseInt(box.dataset.nextIndex || "0", 10);
      box.dataset.nextIndex = index + 1;
      var html = box.querySelector("template").innerHTML.split("__INDEX__").join(String(index));
      var body = box.querySelector("tbody");
      body.insertAdjacentHTML("beforeend", html);
      var rows = body.querySelectorAll("tr");
      rows[rows.length - 1].querySelector(".row-number").textContent = rows.length;
      var first = rows[rows.length - 1].querySelector("input, select, textarea");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest(".remove-row");
    if (remove) {
      var tbody = remove.closest("tbody");
      remove.closest("tr").remove();
      tbody.querySelectorAll("tr").forEach(function (tr, n) { tr.querySelector(".row-number").textContent = n + 1; });
    }
  });
})();
