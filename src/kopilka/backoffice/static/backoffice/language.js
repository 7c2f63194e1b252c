// The language switcher in the header sends its form as soon as a language is chosen (the page's policy allows
// no inline handlers, so the behaviour lives here). Without scripts the form has its own button.
document.querySelectorAll("form.language").forEach((form) => {
  const select = form.querySelector("select[name=language]");
  const button = form.querySelector("button");
  if (button) button.hidden = true;
  select.addEventListener("change", () => form.requestSubmit());
});
