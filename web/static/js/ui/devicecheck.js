// The family's check before a visit: camera, microphone and speaker. The network check
// needs requests, so the join page makes it (pages/join.js).

export async function openCamera(videoEl) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } },
  });
  videoEl.srcObject = stream;
  videoEl.muted = true;
  await videoEl.play().catch(() => {});
  return stream;
}

// Calls onLevel(0..1) about ten times a second until the returned stop() is called.
export function meterMicrophone(stream, onLevel) {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  const ctx = new AudioCtx();
  const source = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128) / 128);
    onLevel(Math.min(1, peak * 2));
  }, 100);
  return () => {
    clearInterval(timer);
    ctx.close().catch(() => {});
  };
}

// A short, gentle two-tone chime: "can you hear this?"
export async function playTestSound() {
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  const ctx = new AudioCtx();
  const now = ctx.currentTime;
  for (const [i, freq] of [[0, 660], [1, 880]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.35);
    gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.35 + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.35 + 0.3);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now + i * 0.35);
    osc.stop(now + i * 0.35 + 0.32);
  }
  setTimeout(() => ctx.close().catch(() => {}), 1200);
}
