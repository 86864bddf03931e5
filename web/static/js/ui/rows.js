// Editing a list of records as rows of labelled fields: add a row, remove a row, read them
// back. Used by the care-plan page for tiers, thresholds, contacts and medicines.

let counter = 0;

function field(column, value) {
  counter += 1;
  const id = `row-${counter}`;
  const wrap = document.createElement("div");
  wrap.className = "row-field";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = column.label;
  let input;
  if (column.type === "select") {
    input = document.createElement("select");
    // An optional choice may be left empty; a value the list does not offer (a role the
    // page does not know, a person who left the team) is kept, shown in words.
    const options = [...(column.optional ? [""] : []), ...column.options];
    const chosen = value === null || value === undefined ? "" : String(value);
    if (chosen && !options.includes(chosen)) options.push(chosen);
    const labels = column.labels || {};
    for (const option of options) {
      const node = document.createElement("option");
      node.value = option;
      node.textContent = option === "" ? column.emptyLabel || ""
        : labels[option] || (column.otherLabel && !column.options.includes(option) ? column.otherLabel : option.replaceAll("_", " "));
      node.selected = option === chosen;
      input.append(node);
    }
  } else if (column.type === "checkbox") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = Boolean(value);
    wrap.classList.add("check");
  } else if (column.type === "lines") {
    input = document.createElement("textarea");
    input.rows = 3;
    input.value = (value || []).join("\n");
  } else {
    input = document.createElement("input");
    input.type = column.type || "text";
    if (column.type === "number") input.inputMode = "numeric";
    input.value = value === null || value === undefined ? "" : String(value);
  }
  input.id = id;
  input.dataset.key = column.key;
  wrap.append(label, input);
  return wrap;
}

export class RowEditor {
  constructor(root, columns, strings) {
    this.root = root;
    this.columns = columns;
    this.strings = strings;
    this.list = document.createElement("ol");
    this.list.className = "rows";
    const add = document.createElement("button");
    add.type = "button";
    add.className = "button quiet";
    add.textContent = strings.add_row;
    add.addEventListener("click", () => this.add({}));
    root.replaceChildren(this.list, add);
  }

  add(record) {
    const item = document.createElement("li");
    item.className = "row card";
    for (const column of this.columns) item.append(field(column, record[column.key]));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button quiet";
    remove.textContent = this.strings.remove_row;
    remove.addEventListener("click", () => item.remove());
    item.append(remove);
    this.list.append(item);
  }

  set(records) {
    this.list.replaceChildren();
    for (const record of records) this.add(record);
  }

  read() {
    return [...this.list.children].map((item) => {
      const record = {};
      for (const column of this.columns) {
        const input = item.querySelector(`[data-key="${column.key}"]`);
        if (column.type === "checkbox") record[column.key] = input.checked;
        else if (column.type === "number") record[column.key] = input.value === "" ? null : Number(input.value);
        else if (column.type === "lines") record[column.key] = input.value.split("\n").map((l) => l.trim()).filter(Boolean);
        else record[column.key] = input.value.trim() === "" && column.optional ? null : input.value.trim();
      }
      return record;
    });
  }
}
