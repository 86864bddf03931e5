// Connection quality from WebRTC statistics, as one plain word. DOM-free.
//
// Thresholds: below ~150 ms round trip and 2 % loss a video call feels natural; past
// ~400 ms or 8 % loss speech breaks up and video freezes (ITU-T G.114 puts the limit of
// comfortable conversation near 400 ms one way).
export const GOOD_RTT_MS = 150;
export const POOR_RTT_MS = 400;
export const GOOD_LOSS = 0.02;
export const POOR_LOSS = 0.08;

// `stats` is an iterable of RTCStats objects (an RTCStatsReport's values); `previous` is
// what this function returned last time, so loss is measured over the last interval.
export function summarise(stats, previous) {
  let rttMs = null;
  let received = 0;
  let lost = 0;
  for (const s of stats) {
    if (s.type === "candidate-pair" && s.state === "succeeded" && s.nominated && s.currentRoundTripTime !== undefined) {
      rttMs = s.currentRoundTripTime * 1000;
    }
    if (s.type === "inbound-rtp") {
      received += s.packetsReceived || 0;
      lost += Math.max(0, s.packetsLost || 0);
    }
  }
  const dReceived = received - (previous ? previous.received : 0);
  const dLost = lost - (previous ? previous.lost : 0);
  const total = dReceived + dLost;
  const loss = total > 0 ? dLost / total : 0;
  return { rttMs, loss, received, lost, level: level(rttMs, loss) };
}

export function level(rttMs, loss) {
  if ((rttMs !== null && rttMs > POOR_RTT_MS) || loss > POOR_LOSS) return "poor";
  if ((rttMs !== null && rttMs > GOOD_RTT_MS) || loss > GOOD_LOSS) return "fair";
  return "good";
}

// A verdict on a pre-call network check: round trips in ms and a measured download rate.
export function networkVerdict(rttsMs, kbps) {
  const sorted = [...rttsMs].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : Infinity;
  // Video at 640x480 needs about 500 kbit/s each way; sound alone about 50 kbit/s.
  if (median <= GOOD_RTT_MS && kbps >= 1500) return { verdict: "good", median };
  if (median <= POOR_RTT_MS && kbps >= 500) return { verdict: "ok", median };
  return { verdict: "weak", median };
}
