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
  // Patient picker: the search updates the choices in place as you type
  // (and on Search), so what is typed in the rest of the form stays.
  // Without script the search form reloads the page with ?q=.
  var search = document.getElementById("patient-search");
  var choices = document.getElementById("patient-choices");
  if (search && choices && window.fetch && window.DOMParser) {
    var q = document.getElementById("patient-q");
    var timer = null, seq = 0;
    var refresh = function () {
      var n = ++seq;
      var params = new URLSearchParams(new FormData(search));
      fetch(search.getAttribute("action") + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (n !== seq) return; // a later search answered first
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("patient-choices");
          if (fresh) choices.innerHTML = fresh.innerHTML;
        })
        .catch(function () { search.submit(); });
    };
    search.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); refresh(); });
    q && q.addEventListener("input", function () {
      clearTimeout(timer);
      if (q.value.trim().length >= 2) timer = setTimeout(refresh, 300);
    });
  }
})();
// Money: a receipt's or statement's print button (without script, the
// browser's own Print command does the same).
document.querySelectorAll("button[data-print]").forEach(function (b) {
  b.hidden = false;
  b.addEventListener("click", function () { window.print(); });
});
