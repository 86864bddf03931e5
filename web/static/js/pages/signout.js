// "Sign out" in every staff page's header (base.html): end the session, go to the sign-in.
// A page script, not a ui/ module: it talks to the server.
import { loadSession, request } from "../lib/api.js";

const button = document.getElementById("sign-out");
if (button) {
  button.addEventListener("click", async () => {
    try {
      // The page's own script has usually read the session (and its CSRF token) already.
      await loadSession();
      await request("DELETE", "/api/session");
    } finally {
      window.location.assign("/login");
    }
  });
}
