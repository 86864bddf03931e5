// The family's education topics on the family and diary pages: each topic opens in place,
// "I have a question" tells the team, and everything works offline once the page has loaded.
// Text from the server is set with textContent only.
import { addPending, loadPending, loadTopics, saveTopics, savePending, sendPending, topicsToShow } from "../lib/education.js";
import { byId, readJson, say } from "./dom.js";

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function renderTopic(topic, strings, onOpen, onQuestion) {
  const item = element("li");
  const details = element("details", null, "topic");
  details.lang = topic.language;
  details.dir = topic.language === "ar" ? "rtl" : "auto";
  const summary = element("summary");
  summary.append(element("strong", topic.title));
  details.append(summary, element("p", topic.summary, "lead"));
  if (topic.machine_translated && !topic.reviewed) {
    details.append(element("p", strings.unreviewed, "unreviewed"));
  }
  for (const section of topic.sections) {
    details.append(element("h3", section.heading));
    if (section.picture) {
      const figure = element("figure");
      const img = element("img");
      img.src = section.picture.src;
      img.alt = section.picture.alt;
      figure.append(img);
      details.append(figure);
    }
    for (const paragraph of section.paragraphs) details.append(element("p", paragraph));
    if (section.steps.length) {
      const list = element("ol");
      for (const step of section.steps) list.append(element("li", step));
      details.append(list);
    }
  }
  const sources = element("p", `${strings.sources} ${topic.sources.map((s) => `${s.organisation}, “${s.title}”`).join("; ")}`, "sources");
  details.append(sources);
  const ask = element("button", strings.question, "button");
  ask.type = "button";
  const asked = element("p", topic.question_at ? strings.asked : "", "message");
  asked.setAttribute("role", "status");
  ask.addEventListener("click", () => {
    onQuestion(topic);
    asked.textContent = strings.asked;
  });
  details.append(ask, asked);
  let opened = false;
  details.addEventListener("toggle", () => {
    if (details.open && !opened) {
      opened = true;
      onOpen(topic);
    }
  });
  item.append(details);
  return item;
}

// scope: what the offline copy is kept under (the diary token's page or the visit);
// send(mark): posts {assignment_id, kind} and throws ApiFailure on failure.
export function showEducation(page, scope, send) {
  const root = byId("education");
  if (!root) return;
  const strings = readJson("education-strings");
  const topics = topicsToShow(page.education, loadTopics(localStorage, scope));
  if (Array.isArray(page.education)) saveTopics(localStorage, scope, page.education);
  const list = byId("education-topics");
  const status = byId("education-status");
  let pending = loadPending(localStorage, scope);
  // One flush at a time: two "online" events, or a tap during a flush, must not send a mark
  // twice. Marks added while one runs wait for the next.
  let running = null;
  const flushOnce = async () => {
    const batch = pending;
    const left = await sendPending(batch, send);
    pending = [...left, ...pending.filter((mark) => !batch.includes(mark))];
    savePending(localStorage, scope, pending);
  };
  const flush = () => {
    if (!running) running = flushOnce().finally(() => { running = null; });
    return running;
  };
  const mark = (kind) => (topic) => {
    pending = addPending(pending, { assignment_id: topic.assignment_id, kind });
    savePending(localStorage, scope, pending);
    flush().then(() => {
      if (pending.length) say(status, strings.offline);
    });
  };
  list.replaceChildren(...topics.map((t) => renderTopic(t, strings, mark("opened"), mark("question"))));
  root.hidden = topics.length === 0;
  window.addEventListener("online", () => { flush(); });
  flush();
}
