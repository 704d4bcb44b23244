/* The new-lead form asks, as the mobile number or WeChat ID is typed, whether a customer of the store already
   has it (GET data-duplicates-url), and says so at once above the form, with a link where the user may
   open that customer. */
(function () {
  "use strict";
  var form = document.getElementById("lead-form");
  var box = document.getElementById("lead-duplicate");
  var list = document.getElementById("lead-duplicate-list");
  if (!form || !box || !list) { return; }
  var timer = null;
  var asked = 0;

  function value(name) {
    var el = form.elements.namedItem(name);
    return el && "value" in el ? String(el.value).trim() : "";
  }

  function check() {
    var mobile = value("mobile");
    var chat = value("chat_id");
    if (mobile.replace(/\D/g, "").length < 7 && chat.length < 3) {
      box.classList.add("d-none");
      return;
    }
    var mine = ++asked;
    var params = new URLSearchParams({ mobile: mobile, chat_id: chat, store_id: value("store_id") });
    fetch(form.dataset.duplicatesUrl + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }
        list.textContent = "";
        (data.duplicates || []).forEach(function (d) {
          var li = document.createElement("li");
          if (d.url) {
            var a = document.createElement("a");
            a.href = d.url;
            a.className = "alert-link";
            a.textContent = d.text;
            li.appendChild(a);
          } else {
            li.textContent = d.text;
          }
          list.appendChild(li);
        });
        box.classList.toggle("d-none", !list.children.length);
        form.dataset.duplicateChecked = "1";
      })
      .catch(function () { /* the check is a courtesy: saving still works */ });
  }

  form.addEventListener("input", function (e) {
    var name = e.target && e.target.name;
    if (name === "mobile" || name === "chat_id" || name === "store_id") {
      clearTimeout(timer);
      timer = setTimeout(check, 300);
    }
  });
  form.addEventListener("change", function (e) { if (e.target && e.target.name === "store_id") { check(); } });
  if (value("mobile") || value("chat_id")) { check(); }
})();
