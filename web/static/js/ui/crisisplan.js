// The patient's crisis plan, shown beside the rehearsal: what to look for, first steps,
// just-in-case medicines, whom to call in what order, and resuscitation status. Text only.

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function list(items) {
  const ul = el("ul");
  for (const text of items) ul.append(el("li", text));
  return ul;
}

export function renderCrisisPlan(plan, strings) {
  const box = el("section", undefined, "crisis-plan");
  box.append(el("h3", strings.crisis_plan));
  if (!plan) {
    box.append(el("p", strings.no_care_plan, "muted"));
    return box;
  }
  const care = plan.advance_care || {};
  box.append(el("p", `${strings.resuscitation}: ${strings.resus[care.resuscitation] || care.resuscitation}`
    + (care.form_location ? ` · ${strings.form_kept}: ${care.form_location}` : ""), "flag"));
  const crisis = plan.crisis_plan || {};
  for (const instruction of crisis.instructions || []) {
    box.append(el("h4", strings.crises[instruction.crisis] || instruction.crisis));
    if ((instruction.triggers || []).length) {
      box.append(el("p", strings.look_for, "label"), list(instruction.triggers));
    }
    if ((instruction.first_steps || []).length) {
      box.append(el("p", strings.first_steps, "label"), list(instruction.first_steps));
    }
  }
  if ((crisis.medicines || []).length) {
    box.append(el("h4", strings.medicines), list(crisis.medicines.map((m) =>
      `${m.drug} ${m.dose}, ${m.route} — ${m.indication}`)));
  }
  if ((crisis.call_tree || []).length) {
    const ol = el("ol");
    for (const c of crisis.call_tree) ol.append(el("li", `${c.name}: ${c.phone}${c.when ? ` (${c.when})` : ""}`));
    box.append(el("h4", strings.call_order), ol);
  }
  if (!(crisis.instructions || []).length && !(crisis.medicines || []).length) {
    box.append(el("p", strings.plan_empty, "muted"));
  }
  return box;
}
