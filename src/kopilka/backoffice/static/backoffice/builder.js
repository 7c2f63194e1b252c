// The campaign builder's conditions: the tree in the form's JSON field shown as nested groups ("all of" / "any of",
// each may be negated) of condition rows, each row with inputs of its own kind. Every change writes the tree back
// to the JSON field (which stays editable as the advanced view), and asks the server how many members the whole
// tree and each group select now.
//
// Exactness: a stored tree is read back as it was. A node keeps every field it came with (only the edited ones
// change); "not" wrapped n times stays n times until its box is clicked; a tree that was a single condition (or
// nobody's, null) is shown inside a root group and written back unwrapped while that group holds one condition.
(function () {
  "use strict";
  const form = document.getElementById("builder");
  const host = document.getElementById("condition-tree");
  const field = document.getElementById("id_conditions_json");
  const output = document.getElementById("eligible");
  if (!form || !host || !field || !output) return;
  const choices = JSON.parse(document.getElementById(host.dataset.choices).textContent);
  const words = choices.words;
  const KINDS = Object.fromEntries(choices.kinds);
  let lists = 0; // datalists made so far, for their ids

  // --- the tree's model ------------------------------------------------------------------------------------------

  const DEFAULTS = {
    member_kind: () => ({ kind: "individual" }), tags: () => ({ tags: [], match: "any" }),
    eligibility: () => ({ flags: [], match: "all" }), region: () => ({ regions: [], federal_districts: [] }),
    city: () => ({ cities: [] }), million_plus: () => ({}), orders: () => ({ op: "lt", value: 5, within_days: null }),
    spent: () => ({ op: "ge", value: "0", within_days: null }), lifecycle: () => ({ stages: [] }),
    purchased: () => ({ skus: [], groups: [], within_days: null }), tier: () => ({ tiers: [] }),
    birthday: () => ({ days: 0 }),
  };
  const isGroup = (node) => node && (node.type === "all" || node.type === "any");

  function shown(node) {
    let neg = 0;
    while (node && node.type === "not") { neg += 1; node = node.of; }
    if (isGroup(node)) return { group: true, type: node.type, neg, items: node.of.map(shown) };
    return { group: false, neg, node };
  }

  function rootOf(tree) {
    if (isGroup(tree)) return { ...shown(tree), wrapped: false };
    return { group: true, type: "all", neg: 0, items: tree ? [shown(tree)] : [], wrapped: true };
  }

  function negated(node, times) {
    for (let n = 0; n < times; n += 1) node = { type: "not", of: node };
    return node;
  }

  // The tree of a shown item; null for a group with nothing in it (it selects nobody's condition yet).
  function written(item) {
    if (!item.group) return negated(item.node, item.neg);
    const of = item.items.map(written).filter((node) => node !== null);
    return of.length ? negated({ type: item.type, of }, item.neg) : null;
  }

  function writtenRoot(root) {
    const present = root.items.filter((item) => written(item) !== null);
    if (root.wrapped && root.neg === 0 && present.length === 1) return written(present[0]);
    return written(root);
  }

  // --- building the page -----------------------------------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value === true ? "" : value);
    }
    node.append(...children.filter((child) => child !== null));
    return node;
  }

  function select(label, options, value, onChange) {
    const box = el("select", { "aria-label": label });
    for (const [code, name] of options) box.append(el("option", { value: code, text: name, selected: code === value }));
    box.addEventListener("change", () => onChange(box.value));
    return box;
  }

  function numberInput(label, value, attributes, onChange) {
    const box = el("input", { type: "number", "aria-label": label, value: value ?? "", ...attributes });
    box.addEventListener("input", () => onChange(box.value));
    return box;
  }

  function labelled(text, ...inputs) {
    return el("label", { class: "part" }, el("span", { text }), ...inputs);
  }

  // Values chosen from a list with search: chips with a remove button, and an input that offers the list. A value
  // not on the list is taken only when `free` (SKUs), or when it was already in the stored tree.
  function chips(label, values, options, free = false) {
    const names = new Map(options);
    const box = el("span", { class: "chips", role: "group", "aria-label": label });
    const listId = `choices-${++lists}`;
    const input = el("input", { list: listId, "aria-label": label, placeholder: words.search, autocomplete: "off" });
    const datalist = el("datalist", { id: listId });
    for (const [code, name] of options) datalist.append(el("option", { value: code, label: name }));
    const problem = el("span", { class: "bad", role: "status" });

    function draw() {
      box.querySelectorAll(".chip").forEach((chip) => chip.remove());
      values.forEach((value, index) => {
        const remove = el("button", { type: "button", class: "link", text: "×",
                                      "aria-label": words.remove_value.replace("%(value)s", names.get(value) || value) });
        remove.addEventListener("click", () => { values.splice(index, 1); draw(); changed(); input.focus(); });
        box.insertBefore(el("span", { class: "chip", "data-value": value }, names.get(value) || value, remove), input);
      });
    }

    function found(text) {
      const wanted = text.trim();
      if (!wanted) return null;
      if (names.has(wanted)) return wanted;
      const folded = wanted.toLocaleLowerCase();
      const exact = options.filter(([code, name]) => code.toLocaleLowerCase() === folded
                                                    || name.toLocaleLowerCase() === folded);
      if (exact.length === 1) return exact[0][0];
      const partial = options.filter(([, name]) => name.toLocaleLowerCase().includes(folded));
      if (partial.length === 1) return partial[0][0];
      return free ? wanted : null;
    }

    function take() {
      const value = found(input.value);
      if (value === null) { problem.textContent = input.value.trim() ? words.unknown : ""; return; }
      problem.textContent = "";
      if (!values.includes(value)) values.push(value);
      input.value = "";
      draw();
      changed();
    }

    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); take(); }
    });
    input.addEventListener("input", () => { if (names.has(input.value)) take(); }); // a pick from the list
    input.addEventListener("change", () => { if (input.value.trim()) take(); });
    box.append(input, datalist, problem);
    draw();
    return box;
  }

  function withinDays(node) {
    return labelled(words.within, numberInput(words.days_unit, node.within_days, { min: 1, class: "days",
                                                                                  placeholder: words.all_time },
      (value) => { node.within_days = value === "" ? null : Number(value); changed(); }), el("span", { text: words.days_unit }));
  }

  function comparison(node, unit, parse) {
    return [
      select(words.comparison, choices.ops, node.op, (value) => { node.op = value; changed(); }),
      numberInput(words.value, node.value, { min: 0, step: parse === Number ? 1 : 0.01, class: "amount" },
                  (value) => { node.value = value === "" ? null : parse(value); changed(); }),
      el("span", { text: unit }),
    ];
  }

  function checkboxes(label, values, options) {
    const box = el("span", { class: "chips", role: "group", "aria-label": label });
    for (const [code, name] of options) {
      const tick = el("input", { type: "checkbox", checked: values.includes(code) });
      tick.addEventListener("change", () => {
        const at = values.indexOf(code);
        if (tick.checked && at < 0) values.push(code);
        if (!tick.checked && at >= 0) values.splice(at, 1);
        changed();
      });
      box.append(el("label", {}, tick, ` ${name}`));
    }
    return box;
  }

  function matching(node) {
    return select(words.match, [["any", words.match_any], ["all", words.match_all]], node.match,
                  (value) => { node.match = value; changed(); });
  }

  // The inputs of one condition, by its kind; each edits `node` in place.
  const EDITORS = {
    member_kind: (node) => [select(words.member_kind, choices.member_kinds, node.kind,
                                   (value) => { node.kind = value; changed(); })],
    tags: (node) => [matching(node), chips(words.tags, node.tags, choices.tags)],
    eligibility: (node) => [matching(node), chips(words.flags, node.flags, choices.flags)],
    region: (node) => [labelled(words.regions, chips(words.regions, node.regions, choices.regions)),
                       labelled(words.districts, chips(words.districts, node.federal_districts, choices.districts))],
    city: (node) => [chips(words.cities, node.cities, choices.cities)],
    million_plus: () => [el("span", { class: "hint", text: words.million_plus })],
    orders: (node) => [...comparison(node, words.orders_unit, Number), withinDays(node)],
    spent: (node) => [...comparison(node, words.roubles, (value) => value.replace(",", ".")), withinDays(node)],
    lifecycle: (node) => [checkboxes(words.stages, node.stages, choices.stages)],
    purchased: (node) => [labelled(words.groups, chips(words.groups, node.groups, choices.groups)),
                          labelled(words.skus, chips(words.skus, node.skus, choices.skus, true)), withinDays(node)],
    tier: (node) => [chips(words.tiers, node.tiers, choices.tiers)],
    birthday: (node) => [numberInput(words.birthday_days, node.days, { min: 0, max: 31, class: "days" },
                                     (value) => { node.days = value === "" ? null : Number(value); changed(); }),
                         el("span", { text: words.birthday_days })],
  };

  function notBox(item) {
    const tick = el("input", { type: "checkbox", checked: item.neg % 2 === 1 });
    tick.addEventListener("change", () => { item.neg = tick.checked ? 1 : 0; changed(); });
    return el("label", { class: "not" }, tick, ` ${words.not}`);
  }

  function row(item, remove) {
    const kind = item.node.type;
    const known = kind in EDITORS;
    const kindBox = select(words.condition, known ? choices.kinds : [[kind, kind], ...choices.kinds], kind, (value) => {
      item.node = { type: value, ...DEFAULTS[value]() };
      redraw();
    });
    const drop = el("button", { type: "button", class: "secondary", text: words.remove });
    drop.addEventListener("click", remove);
    const inputs = known ? EDITORS[kind](item.node) : [el("code", { text: JSON.stringify(item.node) })];
    return el("div", { class: "condition", role: "group", "aria-label": words.condition, "data-kind": kind },
              notBox(item), kindBox, ...inputs, drop);
  }

  const countedGroups = []; // [group item, its count output], in the page's order, the root first

  function group(item, remove) {
    const head = el("div", { class: "group-head" });
    const count = el("output", { class: "group-count", "aria-live": "polite", text: "…" });
    countedGroups.push([item, count]);
    head.append(notBox(item), el("span", { text: words.matching }),
                select(words.group, [["all", words.all], ["any", words.any]], item.type,
                       (value) => { item.type = value; changed(); }),
                el("span", { class: "hint" }, `${words.eligible}: `, count));
    if (remove) {
      const drop = el("button", { type: "button", class: "secondary", text: words.remove_group });
      drop.addEventListener("click", remove);
      head.append(drop);
    }
    const body = el("div", { class: "group-items" });
    item.items.forEach((child, index) => {
      const removeChild = () => { item.items.splice(index, 1); redraw(); };
      body.append(child.group ? group(child, removeChild) : row(child, removeChild));
    });
    if (!item.items.length) body.append(el("p", { class: "hint", text: remove ? words.empty_group : words.everybody }));
    const addCondition = el("button", { type: "button", class: "secondary", text: words.add_condition });
    addCondition.addEventListener("click", () => {
      item.items.push({ group: false, neg: 0, node: { type: "tags", ...DEFAULTS.tags() } });
      redraw();
      const rows = host.querySelectorAll(".condition select");
      if (rows.length) rows[rows.length - 1].focus();
    });
    const addGroup = el("button", { type: "button", class: "secondary", text: words.add_group });
    addGroup.addEventListener("click", () => {
      item.items.push({ group: true, type: item.type === "all" ? "any" : "all", neg: 0, items: [] });
      redraw();
    });
    return el("div", { class: "group", role: "group", "aria-label": words.group }, head, body,
              el("div", { class: "group-add" }, addCondition, addGroup));
  }

  // --- state, writing back, counting -----------------------------------------------------------------------------

  const problem = document.getElementById("json-problem");
  let root = null;

  function read() {
    const text = field.value.trim();
    try {
      root = rootOf(text ? JSON.parse(text) : null);
      if (problem) problem.textContent = "";
      return true;
    } catch (error) {
      if (problem) problem.textContent = words.json_invalid;
      return false;
    }
  }

  function redraw() {
    countedGroups.length = 0;
    host.replaceChildren(group(root, null));
    changed();
  }

  function changed() {
    const tree = writtenRoot(root);
    field.value = tree === null ? "" : JSON.stringify(tree);
    later();
  }

  let timer = null;
  let asked = 0;
  async function count() {
    const ticket = ++asked;
    const body = new FormData(form);
    const groups = countedGroups.map(([item]) => written(item));
    body.set("groups_json", JSON.stringify(groups.map((tree) => tree || null)));
    const response = await fetch(form.dataset.countUrl, { method: "POST", body,
                                                           headers: { "X-Requested-With": "fetch" } });
    const answer = await response.json();
    if (ticket !== asked) return; // a newer question is on its way
    const lang = document.documentElement.lang;
    output.textContent = "error" in answer ? answer.error : answer.count.toLocaleString(lang);
    output.dataset.count = "count" in answer ? answer.count : "";
    countedGroups.forEach(([item, place], index) => {
      const counted = "groups" in answer && groups[index] !== null;
      place.textContent = counted ? answer.groups[index].toLocaleString(lang) : "—";
      place.dataset.count = counted ? answer.groups[index] : "";
    });
  }
  function later() { clearTimeout(timer); timer = setTimeout(count, 250); }

  field.addEventListener("input", () => {
    if (!read()) return;
    countedGroups.length = 0;
    host.replaceChildren(group(root, null));
    later();
  });
  if (read()) {
    host.hidden = false;
    countedGroups.length = 0;
    host.replaceChildren(group(root, null));
  }
  count();
})();
