// One RTCPeerConnection to Hearth's media server, renegotiated by the server as people come
// and go. DOM-free apart from the WebRTC objects themselves.
import { ANSWER, OFFER, QUALITY } from "./events.js";
import { request } from "./signal.js";
import { summarise } from "./quality.js";

// aiortc does not trickle ICE: descriptions are sent once gathering has finished. On a
// machine with no usable interface gathering never finishes, so it is bounded.
export const GATHER_TIMEOUT_MS = 5000;
export const QUALITY_INTERVAL_MS = 3000;
// Simulcast: the camera goes out in up to three layers, lowest first (the relay ranks them in
// this order and sends each person the one their connection and tile call for).
export const SIMULCAST_ENCODINGS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

// The layers for a camera of width x height. Chrome sends no more layers than a picture of
// that size warrants (two from 480x270, three from 960x540) and silently drops the top ones,
// which would lose the full picture; so the count follows the camera's size, the top layer
// always at full resolution. A smaller camera (or one of unknown size) sends one stream.
export function simulcastEncodings(width, height) {
  const pixels = (width || 0) * (height || 0);
  if (pixels >= 960 * 540) return SIMULCAST_ENCODINGS;
  if (pixels >= 480 * 270) return SIMULCAST_ENCODINGS.slice(1);
  return null;
}
// The data channel on which the page tells the relay how large each video tile is.
export const VIDEO_CHANNEL = "video";

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("ICE gathering did not finish")), GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

// The direction of one kind's transceiver: send when there is a track, receive unless told not
// to ("Sound only" receives no video, so the server sends it none).
export function direction(hasTrack, receive) {
  if (hasTrack) return receive ? "sendrecv" : "sendonly";
  return receive ? "recvonly" : "inactive";
}

export class PeerLink {
  // handlers: { onTrack(participantId, track, stream), onState(state), onQuality(summary),
  //             onChannel(channel), receiveVideo (default true) }
  constructor(socket, stream, iceServers, handlers) {
    this.socket = socket;
    this.handlers = handlers;
    this.pc = new RTCPeerConnection({ iceServers });
    this.closed = false;
    this.lastStats = null;
    for (const kind of ["audio", "video"]) {
      const track = stream ? stream.getTracks().find((t) => t.kind === kind) : null;
      const receive = kind === "audio" || handlers.receiveVideo !== false;
      const init = { direction: direction(true, receive), streams: [stream] };
      const settings = track && kind === "video" && track.getSettings ? track.getSettings() : {};
      const encodings = simulcastEncodings(settings.width, settings.height);
      if (encodings) init.sendEncodings = encodings;
      if (track) this.pc.addTransceiver(track, init);
      else this.pc.addTransceiver(kind, { direction: direction(false, receive) });
    }
    // Tile sizes for the relay (docs/api.md, "Data channel video"); sent again when it opens.
    this.tileSizes = new Map(); // participant id -> [width, height] in device pixels
    this.videoChannel = null;
    if (handlers.receiveVideo !== false) {
      const channel = this.pc.createDataChannel(VIDEO_CHANNEL);
      channel.addEventListener("open", () => {
        this.videoChannel = channel;
        this.sendTileSizes();
      });
    }
    // The readings channel goes in the first offer: the server's answer cannot add it later.
    if (handlers.onChannel) {
      const channel = this.pc.createDataChannel("readings");
      channel.addEventListener("open", () => handlers.onChannel(channel));
    }
    // mid -> participant id, from the server with every description it sends.
    this.sources = {};
    this.pc.addEventListener("track", (event) => {
      const mid = event.transceiver ? event.transceiver.mid : null;
      handlers.onTrack(this.sources[mid] || null, event.track);
    });
    this.pc.addEventListener("connectionstatechange", () => handlers.onState(this.pc.connectionState));
    this.qualityTimer = setInterval(() => this.sampleQuality(), QUALITY_INTERVAL_MS);
  }

  async start() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await gathered(this.pc);
    const answer = await request(this.socket, OFFER, { sdp: this.pc.localDescription.sdp, type: "offer" });
    if (this.closed) return;
    this.sources = answer.sources || {};
    await this.pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
    this.remap();
    this.sendTileSizes();
  }

  // A reused m-line can carry someone else after a renegotiation without a new "track"
  // event: hand every live receiver to its current owner again.
  remap() {
    for (const transceiver of this.pc.getTransceivers()) {
      const owner = this.sources[transceiver.mid];
      const track = transceiver.receiver && transceiver.receiver.track;
      if (owner && track) this.handlers.onTrack(owner, track);
    }
  }

  // The server's offer after someone joined or left.
  async renegotiate(offer) {
    if (this.closed) return;
    this.sources = offer.sources || {};
    await this.pc.setRemoteDescription({ sdp: offer.sdp, type: offer.type });
    this.remap();
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await gathered(this.pc);
    await request(this.socket, ANSWER, { sdp: this.pc.localDescription.sdp, type: "answer" });
    this.sendTileSizes(); // a renegotiation can move someone's video to another mid
  }

  // The tile showing participantId's video is width x height device pixels: the relay sends
  // no larger a simulcast layer than that needs.
  setTileSize(participantId, width, height) {
    this.tileSizes.set(participantId, [Math.round(width), Math.round(height)]);
    this.sendTileSizes(participantId);
  }

  sendTileSizes(only) {
    const channel = this.videoChannel;
    if (this.closed || !channel || channel.readyState !== "open") return;
    for (const transceiver of this.pc.getTransceivers()) {
      const owner = this.sources[transceiver.mid];
      const track = transceiver.receiver && transceiver.receiver.track;
      const size = owner && this.tileSizes.get(owner);
      if (!size || !track || track.kind !== "video" || (only && owner !== only)) continue;
      channel.send(JSON.stringify({ mid: transceiver.mid, width: size[0], height: size[1] }));
    }
  }

  async sampleQuality() {
    if (this.closed) return;
    try {
      const report = await this.pc.getStats();
      const summary = summarise(report.values(), this.lastStats);
      const changed = !this.lastStats || this.lastStats.level !== summary.level;
      this.lastStats = summary;
      this.handlers.onQuality(summary);
      if (changed && this.socket.connected) {
        // The server notes each switch to sound only and each stretch of poor quality.
        this.socket.emit(QUALITY, { level: summary.level, sound_only: this.handlers.receiveVideo === false });
      }
    } catch {
      // Statistics are a nicety; a failure to read them must not disturb the call.
    }
  }

  setSending(kind, enabled) {
    for (const sender of this.pc.getSenders()) {
      if (sender.track && sender.track.kind === kind) sender.track.enabled = enabled;
    }
  }

  // A renewed TURN credential, for any allocation this connection makes from now on.
  setIceServers(iceServers) {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch {
      // A browser that refuses the change keeps the old credential; the next connection
      // the page makes starts with the new one.
    }
  }

  close() {
    this.closed = true;
    clearInterval(this.qualityTimer);
    this.pc.close();
  }
}
