// The opportunity board: drag a card onto another column (native HTML5 drag and drop) or use the card's
// "move to stage" select (keyboard). Both post the same form; with JavaScript the move is sent in the
// background and the card moves at once; a refusal (stale board, closed opportunity) is announced and the
// card goes back.
(function () {
  "use strict";
  var board = document.getElementById("opportunity-board");
  if (!board) return;
  var live = document.getElementById("board-status");
  var token = document.querySelector('meta[name="csrf-token"]').content;

  function announce(text, ok) {
    live.textContent = text;
    live.className = "alert py-1 px-2 small " + (ok ? "alert-success" : "alert-danger");
  }

  function totals() {
    board.querySelectorAll("[data-stage-id]").forEach(function (col) {
      var count = col.querySelectorAll(".opp-card").length;
      var el = col.querySelector(".stage-count");
      if (el) el.textContent = count;
    });
  }

  function move(card, stageId, done) {
    var form = card.querySelector("form.move-form");
    var data = new FormData(form);
    data.set("stage_id", stageId);
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                        headers: {"Accept": "application/json", "X-CSRFToken": token}})
      .then(function (resp) { return resp.json().then(function (body) { return {ok: resp.ok, body: body}; }); })
      .then(function (r) {
        if (r.ok) {
          form.querySelector('input[name="lock_version"]').value = r.body.lock_version;
          form.querySelector("select").value = String(r.body.stage_id);
        }
        announce(r.body.message, r.ok);
        done(r.ok);
      })
      .catch(function () { announce(board.dataset.errorText, false); done(false); });
  }

  function place(card, stageId) {
    var list = board.querySelector('[data-stage-id="' + stageId + '"] .opp-cards');
    if (list) list.appendChild(card);
    totals();
  }

  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest(".opp-card");
    if (!card) return;
    e.dataTransfer.setData("text/plain", card.dataset.oppId);
    e.dataTransfer.effectAllowed = "move";
    card.classList.add("opacity-50");
  });
  board.addEventListener("dragend", function (e) {
    var card = e.target.closest(".opp-card");
    if (card) card.classList.remove("opacity-50");
  });
  board.addEventListener("dragover", function (e) {
    if (e.target.closest("[data-stage-id]")) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }
  });
  board.addEventListener("drop", function (e) {
    var col = e.target.closest("[data-stage-id]");
    if (!col) return;
    e.preventDefault();
    var card = board.querySelector('.opp-card[data-opp-id="' + e.dataTransfer.getData("text/plain") + '"]');
    if (!card) return;
    var from = card.closest("[data-stage-id]").dataset.stageId;
    var to = col.dataset.stageId;
    if (from === to) return;
    place(card, to);
    move(card, to, function (ok) { if (!ok) place(card, from); });
  });
  board.addEventListener("submit", function (e) {
    var form = e.target.closest("form.move-form");
    if (!form) return;
    e.preventDefault();
    var card = form.closest(".opp-card");
    var from = card.closest("[data-stage-id]").dataset.stageId;
    var to = form.querySelector("select").value;
    if (from === to) return;
    place(card, to);
    move(card, to, function (ok) { if (!ok) place(card, from); else card.querySelector("select").focus(); });
  });
})();
