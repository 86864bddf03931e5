// The visit's Socket.IO connection: acknowledged requests with timeouts. DOM-free.
import { io } from "../../vendor/socket.io/socket.io.esm.min.js";
import { NAMESPACE } from "./events.js";

export const ACK_TIMEOUT_MS = 15000;

export class SignalFailure extends Error {
  // details: what else the refusal carried (e.g. "opens_at" with a "too_early" code).
  constructor(code, message, details = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

// visitId: the visit this page is in, sent as ?visit= so that a proxy in front of several
// nodes sends every socket of one visit to the same node (docker/haproxy.cfg).
export function connect(visitId = null) {
  // WebSocket only: a WebSocket handshake always carries Origin, which the server checks.
  return io(NAMESPACE, {
    path: "/socket.io", transports: ["websocket"], withCredentials: true,
    reconnectionDelay: 500, reconnectionDelayMax: 3000,
    query: visitId === null ? {} : { visit: String(visitId) },
  });
}

export async function request(socket, event, data, timeoutMs = ACK_TIMEOUT_MS) {
  let reply;
  try {
    reply = await socket.timeout(timeoutMs).emitWithAck(event, data);
  } catch {
    throw new SignalFailure("timeout", "No answer from the clinic.");
  }
  if (reply && reply.error) {
    const { code, error, ...details } = reply;
    throw new SignalFailure(code, error, details);
  }
  return reply;
}
