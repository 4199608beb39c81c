// The copy buttons of the admin's secret-once page (a file, so the page's CSP allows it).
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
  });
});
