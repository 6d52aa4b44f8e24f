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

  // ---- 获取验证码 (macros/codes.html): send without a reload, then count down on the button ----

  function showCodeStatus(region, message, ok) {
    region.setAttribute("role", ok ? "status" : "alert");
    region.classList.toggle("code-status-ok", ok);
    region.classList.toggle("code-status-error", !ok);
    region.textContent = message;
  }

  // The server's retry_after drives it; a deadline keeps it right when the tab sleeps. The cooldown
  // belongs to the address (or username) it was sent to, as on the server: a corrected address
  // may be sent to at once, and going back to the first one shows what is left of its wait.
  function codeCountdown(button, source) {
    var label = button.textContent;
    var timer = null;
    var deadlines = {};
    function key() {
      return source ? source.value.trim().toLowerCase() : "";
    }
    function tick() {
      var left = Math.ceil(((deadlines[key()] || 0) - Date.now()) / 1000);
      if (left > 0) {
        button.setAttribute("aria-disabled", "true");
        button.textContent = button.getAttribute("data-countdown").replace("{seconds}", left);
        return;
      }
      window.clearInterval(timer);
      timer = null;
      button.removeAttribute("aria-disabled");
      button.textContent = label;
    }
    function follow() {
      window.clearInterval(timer);
      tick();
      if (button.getAttribute("aria-disabled") === "true") {
        timer = window.setInterval(tick, 250);
      }
    }
    if (source) {
      source.addEventListener("input", follow);
    }
    return function start(seconds, sentTo) {
      deadlines[sentTo === undefined ? key() : sentTo] = Date.now() + seconds * 1000;
      follow();
    };
  }

  function sendCode(button, region, countdown) {
    var source = document.getElementById(button.getAttribute("data-source"));
    var token = button.form ? button.form.querySelector("input[name='csrf_token']") : null;
    var body = new FormData();
    var sentTo = source ? source.value.trim().toLowerCase() : "";
    body.append("purpose", button.getAttribute("data-purpose"));
    body.append("identifier", source ? source.value : "");
    button.setAttribute("aria-busy", "true");
    fetch(button.getAttribute("data-endpoint"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" }
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        showCodeStatus(region, answer.message, answer.ok);
        if (answer.retry_after) {
          countdown(answer.retry_after, sentTo);
        }
      })
      .catch(function () { showCodeStatus(region, button.getAttribute("data-failed"), false); })
      .then(function () { button.removeAttribute("aria-busy"); });
  }

  function initCodeSenders() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-code-send]"), function (button) {
      var region = document.getElementById(button.getAttribute("data-status"));
      var countdown = codeCountdown(button, document.getElementById(button.getAttribute("data-source")));
      var pending = parseInt(button.getAttribute("data-retry-after") || "0", 10);
      // No longer a submit button: Enter in a field must submit the page, not ask for a code.
      button.type = "button";
      button.addEventListener("click", function () {
        if (button.getAttribute("aria-disabled") !== "true" && !button.hasAttribute("aria-busy")) {
          sendCode(button, region, countdown);
        }
      });
      if (pending > 0) {
        countdown(pending);
      }
    });
  }

  // ---- Strength of a new password (macros/forms.html password_meter): the server's verdict, live ----

  function csrfToken(element) {
    var form = element.form || document.querySelector("form");
    var token = form ? form.querySelector("input[name='csrf_token']") : null;
    return token ? token.value : "";
  }

  function checkPassword(meter, input) {
    var body = new FormData();
    body.append("password", input.value);
    meter.getAttribute("data-personal").split(" ").forEach(function (name) {
      var field = document.getElementById(name);
      body.append(name, field ? field.value : "");
    });
    fetch(meter.getAttribute("data-endpoint"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(input) }
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        meter.hidden = false;
        meter.querySelector("meter").value = answer.score;
        meter.querySelector("[data-strength-text]").textContent = answer.message;
        meter.classList.toggle("password-meter-weak", !answer.acceptable);
      })
      .catch(function () { meter.hidden = true; });
  }

  function initPasswordMeters() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-password-meter]"), function (meter) {
      var input = document.getElementById(meter.getAttribute("data-for"));
      var timer = null;
      if (!input) {
        return;
      }
      // Asked once typing pauses, not at every key.
      input.addEventListener("input", function () {
        window.clearTimeout(timer);
        if (!input.value) {
          meter.hidden = true;
          return;
        }
        timer = window.setTimeout(function () { checkPassword(meter, input); }, 300);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    initCodeSenders();
    initPasswordMeters();
  });
})();
