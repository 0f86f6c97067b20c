// MyDentalPractice: small progressive enhancements; every page works without them.
"use strict";
(function () {
  // The impersonation banner counts down the minutes left.
  var el = document.querySelector(".countdown[data-expires]");
  if (el) {
    var expires = Number(el.getAttribute("data-expires")) * 1000;
    var tick = function () {
      var left = Math.ceil((expires - Date.now()) / 60000);
      el.textContent = left > 0 ? left + " min left" : "ended: reload the page";
    };
    tick();
    setInterval(tick, 15000);
  }
  // Destructive buttons ask first.
  document.querySelectorAll("button.danger").forEach(function (b) {
    if (b.id === "end-impersonation") return;
    b.form && b.form.addEventListener("submit", function (e) {
      if (!window.confirm(b.getAttribute("aria-label") || b.textContent.trim() + "?")) e.preventDefault();
    });
  });
})();
// Money: a receipt's or statement's print button (without script, the
// browser's own Print command does the same).
document.querySelectorAll("button[data-print]").forEach(function (b) {
  b.hidden = false;
  b.addEventListener("click", function () { window.print(); });
});
