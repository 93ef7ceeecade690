// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";

  // Footer language switcher: submit as soon as a language is picked (the button stays for no-JS).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });

  // "How much did you watch?" slider: show the value next to it and announce it to screen readers.
  document.querySelectorAll("input[type=range][data-output]").forEach(function (range) {
    var output = document.getElementById(range.dataset.output);
    var template = range.dataset.valueText || "{n} %";
    function update() {
      var text = template.replace("{n}", range.value);
      range.setAttribute("aria-valuetext", text);
      if (output) output.textContent = text;
    }
    range.addEventListener("input", update);
    update();
  });

  // Close the account menu when clicking elsewhere or pressing Escape.
  var menu = document.querySelector(".usermenu");
  if (menu) {
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  }
})();
