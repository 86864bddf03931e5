// The printable action plan: one button that opens the browser's print dialogue.
import { byId } from "../ui/dom.js";

byId("print").addEventListener("click", () => window.print());
