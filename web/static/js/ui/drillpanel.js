// The DOM of a drill on the family's and the clinician's visit pages: the prompts so far,
// the plan's first steps as large "I did this" buttons, and the clinician's drill feed.
// Text only: prompts and steps come from a scenario file and the care plan.
import { describeEvent } from "../lib/drills.js";

export function renderPrompts(list, prompts) {
  list.replaceChildren(...prompts.map((prompt) => {
    const item = document.createElement("li");
    item.dataset.promptId = String(prompt.id);
    item.textContent = prompt.text;
    return item;
  }));
}

// ``onTake(step, button)`` records the step; a step taken shows as done and stays pressed.
export function renderFamilySteps(list, steps, strings, onTake) {
  const existing = new Map([...list.children].map((item) => [item.dataset.step, item]));
  for (const step of steps) {
    let item = existing.get(step.id);
    if (!item) {
      item = document.createElement("li");
      item.dataset.step = step.id;
      const text = document.createElement("p");
      text.className = "step-text";
      text.id = `family-step-${step.id}`;
      text.textContent = step.text;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button big take";
      // Read as "I did this: Help him sit upright", not five identical "I did this".
      button.id = `family-step-button-${step.id}`;
      button.setAttribute("aria-labelledby", `${button.id} ${text.id}`);
      button.addEventListener("click", () => {
        if (button.getAttribute("aria-pressed") !== "true") onTake(step, button);
      });
      item.append(text, button);
      list.append(item);
    }
    markStep(item.querySelector("button"), step.taken, strings);
  }
}

export function markStep(button, taken, strings) {
  button.setAttribute("aria-pressed", String(Boolean(taken)));
  button.classList.toggle("done", Boolean(taken));
  button.textContent = taken ? strings.step_done : strings.step_do;
}

// The clinician's feed: newest on top, each event once.
export function addToFeed(list, event, strings, steps, timeText) {
  if (event.id !== undefined && list.querySelector(`[data-event-id="${CSS.escape(String(event.id))}"]`)) return;
  const item = document.createElement("li");
  item.dataset.kind = event.kind;
  if (event.id !== undefined) item.dataset.eventId = String(event.id);
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = timeText;
  const what = document.createElement("span");
  what.textContent = describeEvent(event, strings, steps);
  item.append(when, what);
  list.prepend(item);
}
