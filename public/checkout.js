// Convenience only: the checkout form works without it. After a few seconds, sends the shopper on to TMoney
// as if they had pressed the button, unless they interact with the page first.
(function () {
  var form = document.getElementById("pay");
  if (!form) return;
  var seconds = parseInt(form.getAttribute("data-auto-submit"), 10);
  if (!(seconds > 0)) return;
  var notice = document.getElementById("auto-submit");
  var template = notice ? notice.textContent : "";
  var sent = false;
  form.addEventListener("submit", function () {
    sent = true;
    var button = form.querySelector("button");
    if (button) button.disabled = true;
  });
  function show() { if (notice) { notice.hidden = false; notice.textContent = template.replace(/\d+/, String(seconds)); } }
  function stop() { clearInterval(timer); if (notice) notice.hidden = true; }
  document.addEventListener("keydown", stop, { once: true });
  document.addEventListener("touchstart", stop, { once: true });
  show();
  var timer = setInterval(function () {
    seconds -= 1;
    if (seconds <= 0) {
      stop();
      if (!sent && document.visibilityState !== "hidden") { sent = true; form.submit(); }
    } else {
      show();
    }
  }, 1000);
})();
