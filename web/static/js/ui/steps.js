// The clinician's panel of visit steps: status, forms, scores and the step events.
// The page sends the events: ``postEvent(body)`` resolves to the server's reply
// ({state, comparison}) or rejects with an error whose message can be shown.
import { renderCrisisPlan } from "./crisisplan.js";
import { buildStepForm } from "./stepforms.js";

function scoreLine(stepState, strings) {
  const scores = stepState && stepState.scores ? stepState.scores : {};
  const parts = [];
  for (const [key, score] of Object.entries(scores)) {
    if (score && typeof score === "object" && score.total !== undefined && score.total !== null) {
      parts.push(`${strings.instrument_names[key] || key}: ${score.total}${score.band_label ? ` (${score.band_label})` : ""}`);
    }
  }
  const tb = stepState && stepState.teach_back;
  if (tb && tb.comprehension_pct !== undefined && tb.comprehension_pct !== null) {
    parts.push(`${strings.comprehension}: ${Math.round(tb.comprehension_pct)} %${tb.mastery ? ` · ${strings.mastery}` : ""}`);
  }
  return parts.join(" · ");
}

export class StepsPanel {
  // ``context.takeStill()`` (optional) resolves to a still from the patient's video;
  // ``noteUrl`` is where the finished visit's note opens.
  constructor(root, { template, strings, context, noteUrl, postEvent, onMessage }) {
    this.root = root;
    this.noteUrl = noteUrl;
    this.postEvent = postEvent;
    this.template = template;
    this.strings = strings;
    this.context = context;
    this.say = onMessage;
    this.state = null;
    this.open = new Set();
    this.current = null;
    this.done = new Set();
  }

  // The current step (the first not done) opens by itself; a step folds to its one line
  // when it is done. The clinician can still open or fold any step.
  followCurrent(state, byStep) {
    const isDone = (id) => {
      const s = byStep.get(id);
      return Boolean(s && (s.status === "completed" || s.status === "skipped"));
    };
    for (const step of this.template.steps) {
      if (isDone(step.id) && !this.done.has(step.id)) this.open.delete(step.id);
    }
    this.done = new Set(this.template.steps.filter((s) => isDone(s.id)).map((s) => s.id));
    const current = state.status === "in_progress" ? this.template.steps.find((s) => !isDone(s.id)) : null;
    const id = current ? current.id : null;
    if (id && id !== this.current) this.open.add(id);
    this.current = id;
  }

  async send(body) {
    try {
      const reply = await this.postEvent(body);
      const before = this.current;
      this.render(reply.state, reply.comparison);
      this.say("");
      // Done with a step: the keyboard goes on to the next one, which opened by itself.
      if (this.current && this.current !== before) {
        const next = this.root.querySelector(`.step[data-step="${this.current}"] summary`);
        if (next) next.focus({ preventScroll: false });
      }
      return true;
    } catch (err) {
      this.say(err.message, "error");
      return false;
    }
  }

  render(state, comparison) {
    if (!state) return;
    if (comparison !== undefined) this.comparison = comparison;
    // Keep what the clinician is typing: a step being edited is not redrawn from the server.
    const editing = this.root.querySelector(".step[open] .step-form:focus-within");
    this.state = state;
    if (editing) {
      this.updateBadges();
      return;
    }
    const steps = new Map(state.steps.map((s) => [s.step, s]));
    this.followCurrent(state, steps);
    const items = this.template.steps.map((step) => this.stepBox(step, steps.get(step.id)));
    const controls = document.createElement("div");
    controls.className = "controls";
    if (state.status === "not_started") {
      controls.append(this.button(this.strings.start_visit, "primary", () => this.send({ type: "start" })));
    } else if (state.status === "in_progress") {
      controls.append(this.button(this.strings.finish_visit, "primary", () => this.send({ type: "finish" })));
    } else if (state.status === "finished") {
      const link = document.createElement("a");
      link.className = "button primary";
      link.href = this.noteUrl;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = this.strings.open_note;
      controls.append(link);
    }
    this.root.replaceChildren(controls, ...items);
  }

  // Items at or over the patient's thresholds, and changes of 2 or more since last time.
  flags() {
    const list = document.createElement("ul");
    list.className = "flags";
    for (const rows of Object.values(this.comparison)) {
      for (const row of rows) {
        if (!row.is_moderate_or_worse && !row.is_notable_change) continue;
        const item = document.createElement("li");
        item.dataset.severity = row.severity;
        const change = row.change === null || row.change === undefined ? ""
          : ` · ${row.change > 0 ? "+" : ""}${row.change} ${this.strings.since_last}`;
        item.textContent = `${row.text} ${row.score} (${this.strings.severities[row.severity] || row.severity})${change}`;
        list.append(item);
      }
    }
    return list;
  }

  updateBadges() {
    for (const stepState of this.state.steps) {
      const box = this.root.querySelector(`.step[data-step="${stepState.step}"]`);
      if (!box) continue;
      box.querySelector(".status").textContent = this.strings.statuses[stepState.status] || stepState.status;
      box.querySelector(".scores").textContent = scoreLine(stepState, this.strings);
    }
  }

  button(text, kind, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `button ${kind || ""}`;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  stepBox(step, stepState) {
    const box = document.createElement("details");
    box.className = "step";
    box.dataset.step = step.id;
    if (step.id === this.current) box.dataset.current = "true";
    box.open = this.open.has(step.id);
    box.addEventListener("toggle", () => (box.open ? this.open.add(step.id) : this.open.delete(step.id)));
    const summary = document.createElement("summary");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = step.title;
    const status = document.createElement("span");
    status.className = "status";
    status.dataset.status = stepState ? stepState.status : "open";
    status.textContent = this.strings.statuses[stepState ? stepState.status : "open"] || "";
    const scores = document.createElement("span");
    scores.className = "scores";
    scores.textContent = scoreLine(stepState, this.strings);
    summary.append(title, " ", status, " ", scores);
    box.append(summary);
    if (step.kind === "assessment" && this.comparison) box.append(this.flags());
    if (step.kind === "crisis_rehearsal") {
      box.append(renderCrisisPlan(this.context.carePlan, this.strings));
      // The education panel (one element, moved here at each render) suggests the topics
      // behind the crisis plan and records their teach-back.
      if (this.context.educationPanel) box.append(this.context.educationPanel);
    }
    const { form, read } = buildStepForm(step, stepState, this.strings, this.context);
    const done = stepState && (stepState.status === "completed" || stepState.status === "skipped");
    const actions = document.createElement("div");
    actions.className = "actions";
    if (!done) {
      actions.append(
        this.button(this.strings.save, "", () => this.send({ type: "answer", step: step.id, answers: read() })),
        this.button(this.strings.complete, "primary", () => this.send({ type: "complete", step: step.id, answers: read() })),
      );
      if (step.skippable) {
        actions.append(this.button(this.strings.skip, "quiet", () => {
          const reason = window.prompt(this.strings.skip_reason);
          if (reason !== null) this.send({ type: "skip", step: step.id, reason });
        }));
      }
    } else {
      if (stepState.skip_reason) form.prepend(Object.assign(document.createElement("p"), { textContent: `${this.strings.skipped}: ${stepState.skip_reason}` }));
      actions.append(this.button(this.strings.reopen, "quiet", () => {
        const reason = window.prompt(this.strings.reopen_reason);
        if (reason) this.send({ type: "reopen", step: step.id, reason });
      }));
    }
    form.addEventListener("submit", (event) => event.preventDefault());
    box.append(form, actions);
    return box;
  }
}
