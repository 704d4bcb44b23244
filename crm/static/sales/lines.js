/* The priced lines of the quote form and of the order-without-a-quote form (sales/_lines.html): lines are
   added and removed, each line's product is searched on the server (name, SKU or size; /products/search
   with a limit, so the catalogue may hold thousands), amounts, totals and discount rates are computed as
   the user types, and a notice says when a rate is under the discount audit's threshold (a quote will need
   the audit; an order without a quote would be refused).

   The arithmetic is the server's, exactly (crm/sales/catalog/models.py): money is whole cents (BigInt), a
   line's amount is unit price × quantity (exact in cents), a rate is price ÷ list price rounded DOWN to 6
   places (0.899999 stays under 0.90), the overall rate is total ÷ list total. The audit applies when the
   lowest line rate or the overall rate is under the threshold the quote_approval diagram states (read by
   the server from the diagram into data-threshold; never typed here). A rate typed into a line sets its
   unit price: list price × rate, rounded half up to the cent (the server stores the price). */
(function () {
  "use strict";
  var table = document.querySelector("table[data-lines]");
  if (!table || typeof BigInt === "undefined") { return; }
  var prefix = table.dataset.lines;  // the ids of the totals: "quote" -> #quote-total, #quote-list-total, #quote-rate
  var body = table.tBodies[0];
  var rowsInput = document.getElementById("line-rows");
  var notice = document.getElementById(table.dataset.notice);
  var labels = table.dataset.labels ? JSON.parse(table.dataset.labels) : {};
  var MICRO = BigInt(1000000);
  var threshold = parseDecimal(table.dataset.threshold || "", 6);  // micro-units of a rate, or null
  var template = body.rows[0].cloneNode(true);

  // "12.5" -> 1250n with places=2; null when it is not a plain non-negative decimal with at most `places`.
  function parseDecimal(text, places) {
    var m = /^\s*(\d{1,12})(?:\.(\d*))?\s*$/.exec(text || "");
    if (!m || (m[2] || "").length > places) { return null; }
    var frac = (m[2] || "") + "0".repeat(places - (m[2] || "").length);
    return BigInt(m[1] + frac);
  }

  function cents(n) {  // 123456n -> "¥1,234.56"
    var negative = n < 0n;
    var s = (negative ? -n : n).toString().padStart(3, "0");
    var whole = s.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + "¥" + whole + "." + s.slice(-2);
  }

  function percent(micro) {  // 899999n -> "89.99 %" (rounded down, like the rate itself)
    var hundredths = micro / BigInt(100);
    var s = hundredths.toString().padStart(3, "0");
    return s.slice(0, -2) + "." + s.slice(-2) + " %";
  }

  function rate(price, list) {  // micro-units, rounded down; null without a list price
    if (list === null || list <= 0n) { return null; }
    return (price * MICRO) / list;
  }

  function field(row, cls) { return row.querySelector("." + cls); }

  function recompute() {
    var total = 0n;
    var listTotal = 0n;
    var lowest = null;
    Array.prototype.forEach.call(body.rows, function (row) {
      var list = parseDecimal(field(row, "line-product").dataset.listPrice, 2);
      var price = parseDecimal(field(row, "line-price").value, 2);
      var qtyText = field(row, "line-quantity").value.trim();
      var qty = /^\d{1,7}$/.test(qtyText) ? BigInt(qtyText) : null;
      var amountCell = field(row, "line-amount");
      var rateInput = field(row, "line-rate");
      if (price !== null && qty !== null && qty > 0n) {
        var amount = price * qty;
        amountCell.textContent = cents(amount);
        total += amount;
        if (list !== null) { listTotal += list * qty; }
      } else {
        amountCell.textContent = "—";
      }
      var r = price !== null ? rate(price, list) : null;
      if (document.activeElement !== rateInput) {
        rateInput.value = r === null ? "" : percent(r).replace(" %", "");
      }
      row.classList.toggle("table-warning", r !== null && threshold !== null && r < threshold);
      if (r !== null && (lowest === null || r < lowest)) { lowest = r; }
    });
    var overall = listTotal > 0n ? rate(total, listTotal) : null;
    document.getElementById(prefix + "-total").textContent = cents(total);
    document.getElementById(prefix + "-list-total").textContent = cents(listTotal);
    document.getElementById(prefix + "-rate").textContent = overall === null ? "—" : percent(overall);
    var low = lowest;
    if (overall !== null && (low === null || overall < low)) { low = overall; }
    var needs = threshold !== null && low !== null && low < threshold;
    notice.classList.toggle("d-none", !needs);
    table.dataset.needsApproval = needs ? "1" : "0";
  }

  function priceFromRate(row, text) {
    var list = parseDecimal(field(row, "line-product").dataset.listPrice, 2);
    var r = parseDecimal(text.replace("%", ""), 4);  // percent with up to 4 places: 88.5 -> 885000n (micro)
    if (list === null || r === null) { return; }
    var price = (list * r + MICRO / 2n) / MICRO;  // half up to the cent
    field(row, "line-price").value = cents(price).replace("¥", "").replace(/,/g, "");
  }

  function renumber() {
    Array.prototype.forEach.call(body.rows, function (row, i) {
      field(row, "line-no").textContent = String(i + 1);
      row.querySelectorAll("[name^='lines-']").forEach(function (el) {
        el.name = el.name.replace(/^lines-\d+-/, "lines-" + i + "-");
      });
      row.querySelectorAll("[id^='lines-']").forEach(function (el) {
        el.id = el.id.replace(/^lines-\d+-/, "lines-" + i + "-");
      });
      row.querySelectorAll("label[for^='lines-']").forEach(function (el) {
        el.htmlFor = el.htmlFor.replace(/^lines-\d+-/, "lines-" + i + "-");
        el.textContent = el.textContent.replace(/\d+\s*$/, String(i + 1));
      });
      var remove = field(row, "line-remove");
      if (labels.remove) { remove.setAttribute("aria-label", labels.remove.replace("{n}", String(i + 1))); }
    });
    rowsInput.value = String(body.rows.length);
  }

  function clear(row) {
    row.querySelectorAll("input").forEach(function (el) {
      el.value = "";
      el.classList.remove("is-invalid");
    });
    field(row, "line-product").dataset.listPrice = "";
    row.querySelectorAll(".invalid-feedback, .line-history").forEach(function (el) { el.remove(); });
    field(row, "line-list").textContent = "";
    hideResults(row);
  }

  function addRow() {
    var row = template.cloneNode(true);
    clear(row);
    body.appendChild(row);
    renumber();
    recompute();
    field(row, "line-search").focus();
  }

  // The product picker ----------------------------------------------------------------------------------
  var timer = null;
  var asked = 0;

  function hideResults(row) {
    var box = field(row, "line-results");
    box.classList.add("d-none");
    box.textContent = "";
    field(row, "line-search").setAttribute("aria-expanded", "false");
  }

  function choose(row, item) {
    var hidden = field(row, "line-product");
    hidden.value = String(item.id);
    hidden.dataset.listPrice = item.list_price;
    field(row, "line-search").value = item.name + " · " + item.sku;
    field(row, "line-list").textContent = (labels.list || "") + " ¥" + item.list_price + (item.spec ? " · " + item.spec : "");
    var price = field(row, "line-price");
    if (!price.value.trim()) { price.value = item.list_price; }
    var qty = field(row, "line-quantity");
    if (!qty.value.trim()) { qty.value = "1"; }
    hideResults(row);
    recompute();
    qty.focus();
  }

  function search(row) {
    var q = field(row, "line-search").value.trim();
    var mine = ++asked;
    var url = table.dataset.searchUrl + "?limit=20&q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }
        var box = field(row, "line-results");
        box.textContent = "";
        (data.items || []).forEach(function (item) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "list-group-item list-group-item-action py-1";
          b.dataset.productId = String(item.id);
          var name = document.createElement("div");
          name.textContent = item.name;
          var meta = document.createElement("div");
          meta.className = "small text-body-secondary";
          meta.textContent = item.sku + (item.spec ? " · " + item.spec : "") + " · ¥" + item.list_price;
          b.appendChild(name);
          b.appendChild(meta);
          b.addEventListener("mousedown", function (e) { e.preventDefault(); choose(row, item); });
          b.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); choose(row, item); } });
          box.appendChild(b);
        });
        if (!box.children.length) {
          var none = document.createElement("div");
          none.className = "list-group-item small text-body-secondary";
          none.textContent = labels.none || "—";
          box.appendChild(none);
        }
        box.classList.remove("d-none");
        field(row, "line-search").setAttribute("aria-expanded", "true");
      })
      .catch(function () { /* the picker stays empty; the form still saves what was chosen */ });
  }

  body.addEventListener("input", function (e) {
    var row = e.target.closest("tr");
    if (!row) { return; }
    if (e.target.classList.contains("line-search")) {
      field(row, "line-product").value = "";
      field(row, "line-product").dataset.listPrice = "";
      field(row, "line-list").textContent = "";
      clearTimeout(timer);
      timer = setTimeout(function () { search(row); }, 200);
    } else if (e.target.classList.contains("line-rate")) {
      priceFromRate(row, e.target.value);
    }
    recompute();
  });
  body.addEventListener("focusin", function (e) {
    if (e.target.classList && e.target.classList.contains("line-search") && !field(e.target.closest("tr"), "line-product").value) {
      search(e.target.closest("tr"));
    }
  });
  body.addEventListener("focusout", function (e) {
    var row = e.target.closest("tr");
    if (row && e.target.classList.contains("line-search")) {
      setTimeout(function () { if (!row.contains(document.activeElement)) { hideResults(row); } }, 150);
    }
    if (row && e.target.classList.contains("line-rate")) { recompute(); }
  });
  body.addEventListener("keydown", function (e) {
    var row = e.target.closest("tr");
    if (!row || !e.target.classList.contains("line-search")) { return; }
    var first = field(row, "line-results").querySelector("button");
    if (e.key === "ArrowDown" && first) { e.preventDefault(); first.focus(); }
    if (e.key === "Escape") { hideResults(row); }
    if (e.key === "Enter") { e.preventDefault(); if (first) { first.dispatchEvent(new MouseEvent("mousedown")); } }
  });
  body.addEventListener("click", function (e) {
    var button = e.target.closest(".line-remove");
    if (!button) { return; }
    var row = button.closest("tr");
    if (body.rows.length > 1) { row.remove(); } else { clear(row); }
    renumber();
    recompute();
  });
  document.getElementById("add-line").addEventListener("click", addRow);
  document.getElementById("overall-rate").addEventListener("input", function (e) {
    Array.prototype.forEach.call(body.rows, function (row) {
      if (field(row, "line-product").value) { priceFromRate(row, e.target.value); }
    });
    recompute();
  });
  // With script, rows are added on demand: the empty rows rendered for a page without script go, one stays.
  function blank(row) {
    return !field(row, "line-product").value && !field(row, "line-quantity").value.trim() &&
      !field(row, "line-price").value.trim() && !row.querySelector(".is-invalid");
  }
  Array.prototype.slice.call(body.rows).forEach(function (row) { if (blank(row)) { row.remove(); } });
  var fresh = template.cloneNode(true);
  clear(fresh);
  body.appendChild(fresh);
  renumber();
  table.dataset.ready = "1";
  recompute();
})();
