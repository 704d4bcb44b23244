// The settlement form's lines: search the store's orders by number, tick one to pre-fill what it can still
// take (still due less what waits for verification), and keep the ticked orders' sum in view beside the
// batch's amount. Plain DOM; the form works without it (tick and type the amounts).
(function () {
  "use strict";
  var table = document.getElementById("settlement-lines");
  if (!table) { return; }
  var search = document.getElementById("line-search");
  var total = document.getElementById("lines-total");
  var batchAmount = document.getElementById("f-amount");

  function cents(text) {
    var value = parseFloat(String(text || "").replace(/[,\s¥￥]/g, ""));
    return isNaN(value) ? 0 : Math.round(value * 100);
  }

  function refresh() {
    var count = 0, sum = 0;
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var tick = row.querySelector(".line-tick");
      if (tick.checked) { count += 1; sum += cents(row.querySelector(".line-amount").value); }
    });
    var text = total.dataset.label.replace("{n}", count).replace("{sum}", (sum / 100).toFixed(2));
    total.textContent = text;
    var matches = batchAmount && cents(batchAmount.value) === sum;
    total.classList.toggle("text-success", count > 0 && matches);
    total.classList.toggle("text-danger", count > 0 && !matches);
  }

  table.addEventListener("change", function (event) {
    var row = event.target.closest("tr");
    if (!row) { return; }
    if (event.target.classList.contains("line-tick")) {
      var amount = row.querySelector(".line-amount");
      if (event.target.checked && !amount.value) { amount.value = amount.dataset.open; }
      if (!event.target.checked) { amount.value = ""; }
    } else if (event.target.classList.contains("line-amount") && event.target.value) {
      row.querySelector(".line-tick").checked = true;
    }
    refresh();
  });
  table.addEventListener("input", refresh);
  if (batchAmount) { batchAmount.addEventListener("input", refresh); }
  if (search) {
    search.addEventListener("input", function () {
      var word = search.value.trim().toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var tick = row.querySelector(".line-tick");
        row.hidden = word !== "" && row.dataset.number.indexOf(word) === -1 && !tick.checked;
      });
    });
  }
  refresh();
})();
