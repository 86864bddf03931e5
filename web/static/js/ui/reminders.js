// A booking's reminders to the family, as lines of words: which, by what, when, and whether
// they went ("Reminder the day before by email: goes out Wed 2 Dec, 13:25"). Paragraphs, not
// list items: the lists they sit in (the day list, the schedule) list visits. Used by the day
// list and the schedule, from the reminders GET /api/encounters gives each visit.
import { formatStamp } from "../lib/time.js";

export function renderReminders(box, reminders, { strings, timeZone, lang }) {
  if (!reminders || !reminders.length) {
    const none = document.createElement("p");
    none.textContent = strings.noReminders;
    box.replaceChildren(none);
    return;
  }
  box.replaceChildren(...reminders.map((r) => {
    const line = document.createElement("p");
    const at = formatStamp(r.status === "sent" && r.sent_at ? r.sent_at : r.due_at, timeZone, lang);
    const state = (strings.reminderStatus[r.status] || r.status).replace("%(at)s", at);
    line.textContent = `${strings.reminder[r.which] || r.which} ${strings.channel[r.channel] || r.channel}: ${state}`;
    return line;
  }));
}
