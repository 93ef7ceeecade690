// Loaded (blocking) in <head>: mark the page as scripted before it is drawn, so that controls
// replaced by JavaScript (the language switcher's button) never flash.
document.documentElement.className = "js";
