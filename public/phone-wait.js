// The "approve on your phone" page: asks Cross every two seconds where the order stands, and goes on to the
// outcome page as soon as the operator's word is in, without a reload in between. Without JavaScript the page
// refreshes itself instead (its <noscript> meta refresh).
(function () {
  var wait = document.getElementById("push-wait");
  if (!wait) return;
  var url = wait.getAttribute("data-status-url");
  var failures = 0;
  function ask() {
    var request = new XMLHttpRequest();
    request.open("GET", url, true);
    request.setRequestHeader("Accept", "application/json");
    request.timeout = 10000;
    request.onload = function () {
      var answer = null;
      try { answer = JSON.parse(request.responseText); } catch (e) {}
      if (request.status === 200 && answer && answer.status !== "waiting" && answer.url) {
        window.location.replace(answer.url);
        return;
      }
      failures = request.status === 200 ? 0 : failures + 1;
      later();
    };
    request.onerror = request.ontimeout = function () { failures += 1; later(); };
    request.send();
  }
  // A slow or lost connection: ask less often, never give up.
  function later() { setTimeout(ask, Math.min(2000 * Math.pow(2, failures), 15000)); }
  later();
})();
