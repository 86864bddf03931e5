// Tabs in the WAI-ARIA pattern: a tablist of buttons, each controlling one panel. Left and
// Right (and Home, End) move between tabs and select the one reached; only the selected tab
// is in the Tab order. Where ``wide`` (a media query) matches, every panel shows at once and
// the tablist hides: the layout puts the panels side by side instead.

export class Tabs {
  constructor(tablist, { wide = null, onSelect = () => {} } = {}) {
    this.tablist = tablist;
    this.tabs = [...tablist.querySelectorAll("[role=tab]")];
    this.wide = wide;
    this.onSelect = onSelect;
    this.selected = this.tabs.find((t) => t.getAttribute("aria-selected") === "true") || this.tabs[0];
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => this.select(tab, { focus: false }));
      tab.addEventListener("keydown", (event) => this.key(event, tab));
    }
    if (wide) wide.addEventListener("change", () => this.apply());
    this.apply();
  }

  panel(tab) {
    return document.getElementById(tab.getAttribute("aria-controls"));
  }

  key(event, tab) {
    const at = this.tabs.indexOf(tab);
    const last = this.tabs.length - 1;
    const to = { ArrowRight: at === last ? 0 : at + 1, ArrowLeft: at === 0 ? last : at - 1, Home: 0, End: last }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    this.select(this.tabs[to], { focus: true });
  }

  // ``name`` is the tab's id or the tab itself.
  select(name, { focus = false } = {}) {
    const tab = typeof name === "string" ? this.tabs.find((t) => t.id === name) : name;
    if (!tab) return;
    this.selected = tab;
    this.apply();
    if (focus) tab.focus();
    this.onSelect(tab.id);
  }

  isWide() {
    return Boolean(this.wide && this.wide.matches);
  }

  apply() {
    const wide = this.isWide();
    this.tablist.hidden = wide;
    for (const tab of this.tabs) {
      const on = tab === this.selected;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      const panel = this.panel(tab);
      panel.hidden = !wide && !on;
      // Side by side the panels are plain regions; as tabs each is a focusable tabpanel.
      if (wide) {
        panel.removeAttribute("role");
        panel.removeAttribute("tabindex");
      } else {
        panel.setAttribute("role", "tabpanel");
        panel.tabIndex = 0;
      }
    }
  }
}
