// Dispatch admin: show only the fields of the chosen method (e-mail, or the agency's Open311 system).
"use strict";
(function () {
  function update(select) {
    document.querySelectorAll("fieldset.dispatch-method").forEach(function (fieldset) {
      fieldset.hidden = !fieldset.classList.contains("dispatch-" + select.value);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_method");
    if (!select) {
      return;
    }
    select.addEventListener("change", function () { update(select); });
    update(select);
  });
})();
