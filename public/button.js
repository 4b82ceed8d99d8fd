// Cross payment button. Optional: the plain form works without it. It shows the amount on the button in the
// shopper's language, and stops a second click from sending a second order while the first is on its way.
(function () {
  "use strict";
  if (window.crossPayButton) { window.crossPayButton(); return; }
  var style = document.createElement("style");
  style.textContent =
    "form.cross-pay{display:inline-block;margin:0}" +
    "form.cross-pay button{font:inherit;font-weight:700;padding:12px 20px;border:0;border-radius:10px;" +
    "background:#f0a500;color:#1d2430;cursor:pointer;min-width:14rem}" +
    "form.cross-pay button:focus{outline:3px solid #0b5cad;outline-offset:2px}" +
    "form.cross-pay button[disabled]{opacity:.7;cursor:progress}";
  document.head.appendChild(style);

  function grouped(digits) {
    return String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
  }

  function enhance(form) {
    // The snippet may be pasted several times with its script: each form is set up once.
    if (form.getAttribute("data-cross-button")) return;
    form.setAttribute("data-cross-button", "1");
    var field = function (name) { return form.querySelector('input[name="' + name + '"]'); };
    var amount = field("amount") ? field("amount").value : "";
    var english = field("language") && field("language").value === "en";
    var button = form.querySelector('button[type="submit"], button:not([type])');
    if (!button) return;
    var label = (english ? "Pay with TMoney" : "Payer avec TMoney") + (amount ? " \u00b7 " + grouped(amount) + "\u00a0F\u00a0CFA" : "");
    button.textContent = label;
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      // Disabled after the submission has started, so that this click still goes through.
      setTimeout(function () {
        button.disabled = true;
        button.textContent = english ? "Going to TMoney\u2026" : "Redirection vers TMoney\u2026";
      }, 0);
    });
    // Back from TMoney with the browser's back button: the page may come from the cache, still disabled.
    window.addEventListener("pageshow", function () {
      form.removeAttribute("data-sent");
      button.disabled = false;
      button.textContent = label;
    });
  }

  window.crossPayButton = function () {
    var forms = document.querySelectorAll("form.cross-pay");
    for (var i = 0; i < forms.length; i++) enhance(forms[i]);
  };
  window.crossPayButton();
})();
