// A computation under way (an element .computing with data-status-url): follow its progress, reload when it ends.
(function () {
  const box = document.querySelector(".computing[data-status-url]");
  if (!box) { return; }
  const poll = () => fetch(box.dataset.statusUrl, {credentials: "same-origin"}).then(r => r.json()).then(s => {
    box.querySelector("progress").value = s.progress;
    box.querySelector(".step").textContent = s.progress + " %";
    if (s.status === "done" || s.status === "failed") { window.location.reload(); } else { setTimeout(poll, 1500); }
  });
  setTimeout(poll, 1000);
})();
