// Admin form of a periodic task (django-celery-beat): under the crontab field, show the chosen
// schedule in words. Replaces the inline script of django-celery-beat's own template.
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  var crontabs = document.getElementById("readable-crontabs");
  var helpText = document.getElementById("crontab-help-text");
  if (!$ || !crontabs || !helpText) return;
  var readable = JSON.parse(crontabs.textContent);
  var originalHelp = JSON.parse(helpText.textContent);
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    var help = $(".field-crontab .help");
    help.text(originalHelp);
    help.append(document.createElement("br"));
    help.append(document.createTextNode("Translation: " + (readable[$("#id_crontab").val()] || "")));
  });
})();
