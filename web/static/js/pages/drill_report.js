// The drill report is rendered on the server; the page's only script is the Print button.
import { byId } from "../ui/dom.js";

byId("print").addEventListener("click", () => window.print());
