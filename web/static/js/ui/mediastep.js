// The relay's fallback ladder (issue 20), in words: the server sends "media_step" events
// ({participant_id, step: "full" | "video_paused" | "audio_lost"}) to everyone in the call.
// One's own step shows in the banner (for the family, with the clinic's number when sound
// is lost: the page's readings and symptom form keep working); the others' steps in a short
// list under it ("Ben's video is paused: weak connection"). Nothing is shown at "full".
import { byId, readJson } from "./dom.js";

// What to say: {own: text or "", phone: bool, others: [text]} for the steps by participant
// id, the roster's names and one's own id (pure, tests/js/mediastep.test.js).
export function stepWords(strings, steps, names, myId) {
  const own = myId ? steps.get(myId) : undefined;
  const others = [];
  for (const [id, step] of steps) {
    if (id === myId || !strings.others || !strings.others[step]) continue;
    others.push(strings.others[step].replace("%(name)s", names.get(id) || strings.someone));
  }
  return { own: own && strings.own ? strings.own[own] || "" : "", phone: own === "audio_lost", others };
}

export class MediaSteps {
  constructor() {
    this.strings = readJson("media-step-strings");
    this.banner = byId("media-step");
    this.others = byId("media-step-others");
    this.names = new Map();
    this.steps = new Map();
    this.myId = null;
  }

  // The page hands over the roster ("participants") and its own participant id.
  roster(people, myId) {
    this.myId = myId;
    this.names = new Map(people.map((p) => [p.participant_id, p.display_name]));
    for (const id of [...this.steps.keys()]) if (!this.names.has(id)) this.steps.delete(id);
    this.render();
  }

  update(data, myId) {
    if (!data || typeof data.participant_id !== "string") return;
    if (myId !== undefined) this.myId = myId;
    if (data.step === "full") this.steps.delete(data.participant_id);
    else this.steps.set(data.participant_id, data.step);
    this.render();
  }

  render() {
    if (!this.banner || !this.others) return;
    const words = stepWords(this.strings, this.steps, this.names, this.myId);
    this.banner.hidden = !words.own;
    this.banner.querySelector(".media-step-text").textContent = words.own;
    const phone = this.banner.querySelector(".media-step-phone");
    if (phone) phone.hidden = !words.phone;
    this.others.replaceChildren(...words.others.map((text) => {
      const item = document.createElement("li");
      item.className = "banner media-step-other";
      item.textContent = text;
      return item;
    }));
  }
}
