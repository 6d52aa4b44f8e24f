// Progressive enhancements only: every page works without JavaScript.
(function () {
  "use strict";

  // After a failed submit, move focus to the error summary so it is read out first.
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
  });
})();
