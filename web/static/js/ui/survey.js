// The family's survey after a visit: shown only when the server offers it, every question
// optional, the whole survey skippable. The page hands in the calls (this module draws and
// reads the form; it never talks to the network itself).
import { say } from "./dom.js";

// actions: { offered() -> Promise<boolean>, answer(answers) -> Promise, skip() -> Promise }
export async function mountSurvey(form, strings, actions) {
  if (!form || form.dataset.mounted) return;
  form.dataset.mounted = "1";
  let offered = false;
  try {
    offered = await actions.offered();
  } catch {
    return; // no survey is better than an error after a visit
  }
  if (!offered) return;
  form.hidden = false;
  const status = form.querySelector("#survey-status");
  const finish = (text) => {
    for (const field of form.querySelectorAll("fieldset, .actions")) field.hidden = true;
    say(status, text);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = {};
    for (const input of form.querySelectorAll("input[type=radio]:checked")) answers[input.name] = Number(input.value);
    try {
      await actions.answer(answers);
      finish(strings.thanks);
    } catch {
      say(status, strings.failed, "error");
    }
  });
  form.querySelector("#survey-skip").addEventListener("click", async () => {
    try {
      await actions.skip();
      finish(strings.skipped);
    } catch {
      say(status, strings.failed, "error");
    }
  });
}
