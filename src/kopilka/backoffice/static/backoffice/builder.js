// The campaign builder's live count: whenever a condition changes, ask how many members it selects now.
(function () {
  const form = document.getElementById("builder");
  const output = document.getElementById("eligible");
  if (!form || !output) return;
  let timer = null;
  let asked = 0;
  async function count() {
    const ticket = ++asked;
    const response = await fetch(form.dataset.countUrl, { method: "POST", body: new FormData(form),
                                                           headers: { "X-Requested-With": "fetch" } });
    const answer = await response.json();
    if (ticket !== asked) return; // a newer question is on its way
    output.textContent = "error" in answer ? answer.error : answer.count.toLocaleString(document.documentElement.lang);
    output.dataset.count = "count" in answer ? answer.count : "";
  }
  function later() { clearTimeout(timer); timer = setTimeout(count, 250); }
  document.getElementById("who").addEventListener("input", later);
  document.getElementById("who").addEventListener("change", later);
  count();
})();
