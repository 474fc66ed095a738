// Figures open at full size on click: a multi-panel figure shrunk to the content column can be
// read at its own resolution (included by Jupyter Book from _static/).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".cell_output img").forEach(function (img) {
    if (img.closest("a")) return;
    var a = document.createElement("a");
    a.href = img.getAttribute("src");
    a.target = "_blank";
    a.title = "open the figure at full size";
    img.parentNode.insertBefore(a, img);
    a.appendChild(img);
  });
});
