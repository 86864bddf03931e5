// Video tiles: one per participant, built with text and media elements only.

// A person's name as the call shows it: with their role when they came in on an
// interpreter's or a guest clinician's link ("Amira — interpreter"); `roles` holds the
// page's translated role words.
export function callName(person, roles) {
  const role = roles && Object.hasOwn(roles, person.role) ? roles[person.role] : "";
  return role ? `${person.display_name} — ${role}` : person.display_name;
}

export class Tiles {
  constructor(container, strings) {
    this.container = container;
    this.strings = strings;
    this.tiles = new Map(); // participant id -> { root, video, audio, name, quality, stream }
    // onSize(participantId, width, height): a tile's video area changed, in device pixels.
    this.onSize = null;
    this.resizes = typeof ResizeObserver === "function"
      ? new ResizeObserver((entries) => {
          for (const entry of entries) {
            const id = entry.target.dataset.participantId;
            const box = entry.contentRect;
            const scale = window.devicePixelRatio || 1;
            if (id && this.onSize) this.onSize(id, box.width * scale, box.height * scale);
          }
        })
      : null;
  }

  ensure(participantId) {
    let tile = this.tiles.get(participantId);
    if (tile) return tile;
    const root = document.createElement("figure");
    root.className = "tile";
    root.dataset.participantId = participantId;
    const video = document.createElement("video");
    video.dataset.participantId = participantId;
    if (this.resizes) this.resizes.observe(video);
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound plays through the separate audio element
    const audio = document.createElement("audio");
    audio.autoplay = true;
    const caption = document.createElement("figcaption");
    const name = document.createElement("span");
    name.className = "name";
    const quality = document.createElement("span");
    quality.className = "quality";
    caption.append(name, quality);
    root.append(video, audio, caption);
    this.container.append(root);
    tile = { root, video, audio, name, quality, stream: new MediaStream() };
    video.srcObject = tile.stream;
    audio.srcObject = tile.stream;
    this.tiles.set(participantId, tile);
    this.count();
    return tile;
  }

  addTrack(participantId, track) {
    const tile = this.ensure(participantId);
    for (const old of tile.stream.getTracks().filter((t) => t.kind === track.kind)) {
      tile.stream.removeTrack(old);
    }
    tile.stream.addTrack(track);
    track.addEventListener("ended", () => tile.stream.removeTrack(track));
    tile.video.play().catch(() => {});
    tile.audio.play().catch(() => {});
  }

  // roster: [{participant_id, display_name, role, online, quality}] without oneself.
  update(roster) {
    const present = new Set(roster.map((p) => p.participant_id));
    for (const [id, tile] of this.tiles) {
      if (!present.has(id)) {
        if (this.resizes) this.resizes.unobserve(tile.video);
        tile.root.remove();
        this.tiles.delete(id);
      }
    }
    this.count();
    for (const person of roster) {
      const tile = this.ensure(person.participant_id);
      tile.name.textContent = callName(person, this.strings.roles);
      tile.root.dataset.role = person.role;
      const q = person.online ? person.quality : "offline";
      tile.quality.textContent = q ? ` · ${this.strings.quality[q] || ""}` : "";
      tile.quality.dataset.level = q || "";
    }
  }

  hideVideo(hidden) {
    this.container.classList.toggle("audio-only", hidden);
  }

  clear() {
    for (const tile of this.tiles.values()) tile.root.remove();
    this.tiles.clear();
    this.count();
  }

  // The stage lays its grid out by the number of tiles, so all of them fit on the screen.
  count() {
    this.container.dataset.count = String(this.tiles.size);
  }
}
