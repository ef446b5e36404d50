// Keyboard shortcuts: j/k move in the queue, Enter opens; on a task m merges, a keeps
// apart (both ask for the reason first), n goes to the next task, q to the queue; / finds.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#tasks tbody tr[data-href]"));
  var current = rows.length ? 0 : -1;
  function mark() {
    rows.forEach(function (row, i) { row.classList.toggle("current", i === current); });
  }
  mark();
  function click(id) {
    var element = document.getElementById(id);
    if (element) { element.click(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" ||
                   target.tagName === "TEXTAREA")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var reason = document.getElementById("reason");
    switch (event.key) {
      case "j": if (current < rows.length - 1) { current += 1; mark(); } break;
      case "k": if (current > 0) { current -= 1; mark(); } break;
      case "Enter": if (current >= 0) { window.location = rows[current].dataset.href; } break;
      case "n": click("next-task"); break;
      case "q": window.location = "/queue"; break;
      case "/": event.preventDefault(); var box = document.getElementById("search-box");
        if (box) { box.focus(); } break;
      case "m": case "a":
        if (!reason) { return; }
        event.preventDefault();
        if (!reason.value.trim()) { reason.focus(); reason.dataset.pending = event.key; return; }
        click(event.key === "m" ? "merge" : "keep-apart"); break;
      default: return;
    }
  });
  var reasonBox = document.getElementById("reason");
  if (reasonBox) {
    reasonBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && reasonBox.dataset.pending && reasonBox.value.trim()) {
        event.preventDefault();
        click(reasonBox.dataset.pending === "m" ? "merge" : "keep-apart");
      }
    });
  }
})();
