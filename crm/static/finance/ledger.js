// The ledger's totals: summing a filter over millions of rows takes longer than a page of it, so the
// list is drawn first and the totals fill in when their own request answers.
(function () {
  "use strict";
  var box = document.getElementById("ledger-totals");
  if (!box || !box.dataset.src) { return; }
  fetch(box.dataset.src, {credentials: "same-origin", headers: {"Accept": "text/html"}})
    .then(function (resp) { if (!resp.ok) { throw new Error(resp.status); } return resp.text(); })
    .then(function (html) { box.innerHTML = html; box.setAttribute("aria-busy", "false"); })
    .catch(function () { box.setAttribute("aria-busy", "false"); box.classList.add("text-danger"); });
})();
