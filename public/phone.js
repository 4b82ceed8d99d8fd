// Convenience only: as the shopper types their number, says which network its range suggests (the form's
// "From the number" does the same on the server, and the shopper may choose another: numbers are portable). The
// ranges are Payments/PhoneNumber.swift's `suggestedOperator`: keep the two in step.
(function () {
  var phone = document.getElementById("phone");
  var hint = document.getElementById("network-suggestion");
  if (!phone || !hint) return;
  var template = hint.getAttribute("data-template") || "";
  function suggest() {
    var digits = phone.value.replace(/[^0-9+]/g, "");
    if (digits.indexOf("+228") === 0) digits = digits.slice(4);
    else if (digits.indexOf("00228") === 0) digits = digits.slice(5);
    else if (digits.length === 11 && digits.indexOf("228") === 0) digits = digits.slice(3);
    var prefix = /^[0-9]{8}$/.test(digits) ? digits.slice(0, 2) : "";
    var network = /^(7[0-3]|9[0-3])$/.test(prefix) ? "TMoney" : /^(7[89]|9[6-9])$/.test(prefix) ? "Flooz" : "";
    hint.hidden = !network;
    if (network) hint.textContent = template.replace("{{operator}}", network);
  }
  phone.addEventListener("input", suggest);
  suggest();
})();
