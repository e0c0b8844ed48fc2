// The colour theme, set before the first paint: index.html loads this from <head>
// without defer (a file, not an inline script: the pages' CSP allows none). A choice of
// "light" or "dark" in the header's Theme switch is kept in localStorage and set as
// <html data-theme>; without one, style.css follows prefers-color-scheme.
"use strict";

(() => {
  const KEY = "simsearch.theme";
  const stored = () => {
    try {
      const v = localStorage.getItem(KEY);
      return v === "light" || v === "dark" ? v : "";
    } catch (e) {
      return "";  // storage refused: follow the system
    }
  };
  const apply = (v) => {
    if (v) document.documentElement.dataset.theme = v;
    else delete document.documentElement.dataset.theme;
  };
  let choice = stored();  // kept on this page even where storage refuses it
  apply(choice);

  document.addEventListener("DOMContentLoaded", () => {
    const select = document.getElementById("theme");
    if (!select) return;
    select.value = choice || "system";
    select.addEventListener("change", () => {
      choice = select.value === "system" ? "" : select.value;
      apply(choice);
      try {
        if (choice) localStorage.setItem(KEY, choice); else localStorage.removeItem(KEY);
      } catch (e) { /* not kept for the next visit */ }
    });
    // Chosen in another tab of the site: follow it here too.
    window.addEventListener("storage", (e) => {
      if (e.key !== KEY && e.key !== null) return;
      choice = stored();
      apply(choice);
      select.value = choice || "system";
    });
  });
})();
