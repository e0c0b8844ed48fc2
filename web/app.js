// simsearch website: plain JavaScript, no build step. Views are addressed by the URL's
// hash so every view has a deep link that works on any static host:
//   #/                              home
//   #/search?q=TEXT&type=&genre=    titles matching TEXT, and stories like it
//   #/anime/ID?type=&genre=         an anime and its neighbours in every collection
//   #/list?recommend=1&type=&genre= the visitor's watch list, and recommendations for it
// The watch list lives in localStorage. Every request goes through api(), which turns
// network failures, timeouts and API errors into one message with a retry.
"use strict";

const CONFIG = Object.assign({ apiBase: "", timeoutMs: 15000 }, window.SIMSEARCH_CONFIG || {});

// The lists an anime page shows, side by side.
const LISTS = [
  { collection: "ncf", title: "Viewers also watched",
    missing: "No viewing data for this anime: nobody in our users' lists watched it." },
  { collection: "synopsis", title: "A story like this", missing: "We have no synopsis for this anime." },
  { collection: "genres", title: "Same genres", missing: "This anime has no genres in our catalogue." },
];
const TYPES = ["TV", "Movie", "OVA", "ONA", "Special", "Music"];
const GENRES = ["Action", "Adventure", "Avant Garde", "Award Winning", "Boys Love", "Cars", "Comedy", "Dementia",
  "Demons", "Drama", "Ecchi", "Fantasy", "Game", "Girls Love", "Gourmet", "Harem", "Historical", "Horror",
  "Josei", "Kids", "Magic", "Martial Arts", "Mecha", "Military", "Music", "Mystery", "Parody", "Police",
  "Psychological", "Romance", "Samurai", "School", "Sci-Fi", "Seinen", "Shoujo", "Shoujo Ai", "Shounen",
  "Shounen Ai", "Slice of Life", "Space", "Sports", "Super Power", "Supernatural", "Suspense", "Thriller",
  "Vampire", "Yaoi", "Yuri"];
const LIST_KEY = "simsearch.watchlist.v1";
const SAFE_KEY = "simsearch.familySafe";  // "1": every list is family safe (no R+, nsfw, Yaoi, Yuri)
let importNotice = "";  // what the last import did, shown once on the list page

// ---------------------------------------------------------------- small DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function announce(text) {
  const el = document.getElementById("announce");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50);
}

function displayTitle(item) {
  return item.english_title && item.english_title !== item.title ? item.english_title : item.title;
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;  // 0: no answer (network, timeout)
    this.body = body || {};  // the JSON error: {error, status, reason, field, ...}
  }
}

async function api(path, { method = "GET", body, signal } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort("timeout"), CONFIG.timeoutMs);
  if (signal) signal.addEventListener("abort", () => ctrl.abort("superseded"));
  let res;
  try {
    res = await fetch(CONFIG.apiBase + path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: ctrl.signal,
    });
  } catch (e) {
    if (signal && signal.aborted) throw new ApiError(-1, "superseded");
    throw new ApiError(0, ctrl.signal.aborted
      ? `It did not answer within ${Math.round(CONFIG.timeoutMs / 1000)} seconds.`
      : "It cannot be reached: it may be restarting, or your connection is down.");
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const message = data && data.error ? data.error : `The recommendation service answered ${res.status}.`;
    throw new ApiError(res.status, message, data);
  }
  return data;
}

// The API leaves adult titles out by default; family safe leaves out mature ones too.
let safeChoice = null;  // the choice made on this page (kept even where storage refuses it)
function familySafe() {
  if (safeChoice !== null) return safeChoice;
  try { return localStorage.getItem(SAFE_KEY) === "1"; } catch (e) { return false; }
}

function policyQuery() {
  return familySafe() ? "&family_safe=true" : "";
}

function filterBody(f) {
  const b = {};
  if (familySafe()) b.family_safe = true;
  if (f.type) b.types = [f.type];
  if (f.genre) b.genres = [f.genre];
  return b;
}

function filterQuery(f) {
  const p = new URLSearchParams();
  if (familySafe()) p.set("family_safe", "true");
  if (f.type) p.set("types", f.type);
  if (f.genre) p.set("genres", f.genre);
  return p.toString();
}

// ---------------------------------------------------------------- the watch list

const WatchList = {
  read() {
    try {
      const data = JSON.parse(localStorage.getItem(LIST_KEY) || "null");
      return data && Array.isArray(data.items) ? data.items : [];
    } catch (e) {
      return [];
    }
  },
  write(items) {
    localStorage.setItem(LIST_KEY, JSON.stringify({ version: 1, items }));
    updateListCount();
  },
  verdict(id) {
    const it = this.read().find((x) => x.id === id);
    return it ? it.verdict : null;
  },
  set(item, verdict) {
    const items = this.read().filter((x) => x.id !== item.id);
    if (verdict) {
      items.push({ id: item.id, title: item.title, english_title: item.english_title || "", type: item.type || "",
        verdict });
    }
    this.write(items);
  },
  // Accepts what export() wrote. An entry that is not a valid anime is skipped and
  // named; a file with no valid entry is an error and changes nothing. Returns
  // { imported, skipped: ["entry 3: ...", ...] }.
  import(text) {
    let data;
    try { data = JSON.parse(text); } catch (e) { throw new Error("The file is not JSON."); }
    const items = Array.isArray(data) ? data : isPlainObject(data) ? data.items : undefined;
    if (!Array.isArray(items)) throw new Error("The file has no list of anime (\"items\").");
    const out = [], skipped = [], seen = new Set();
    items.forEach((x, i) => {
      const problem = importProblem(x, seen, out.length);
      if (problem) {
        skipped.push(`entry ${i + 1}: ${problem}`);
        return;
      }
      seen.add(x.id);
      out.push({ id: x.id, title: x.title || `Anime ${x.id}`, english_title: x.english_title || "",
        type: x.type || "", verdict: x.verdict });
    });
    if (!out.length) {
      throw new Error(`No entry could be imported${skipped.length ? ` (${summarize(skipped)})` : " (the list is empty)"}.`);
    }
    this.write(out);
    return { imported: out.length, skipped };
  },
};

const MAX_LIST = 5000, MAX_TEXT = 300;

function isPlainObject(x) {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

// Why entry `x` of an imported file cannot be taken, or "" when it can.
function importProblem(x, seen, taken) {
  if (!isPlainObject(x)) return "not an object";
  if (!Number.isSafeInteger(x.id) || x.id <= 0) return "\"id\" must be a positive whole number";
  if (x.verdict !== "like" && x.verdict !== "dislike") return "\"verdict\" must be \"like\" or \"dislike\"";
  for (const key of ["title", "english_title", "type"]) {
    const v = x[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") return `"${key}" must be text`;
    if (v.length > MAX_TEXT) return `"${key}" is longer than ${MAX_TEXT} characters`;
  }
  if (seen.has(x.id)) return `id ${x.id} is listed twice`;
  if (taken >= MAX_LIST) return `a list holds at most ${MAX_LIST} anime`;
  return "";
}

// The first few problems, and how many more.
function summarize(problems) {
  const shown = problems.slice(0, 3).join("; ");
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more` : shown;
}

function updateListCount() {
  document.getElementById("list-count").textContent = String(WatchList.read().length);
}

// Like / dislike toggles for one anime; they update in place.
function verdictButtons(item) {
  const wrap = h("span", { class: "verdict", role: "group", "aria-label": `Your verdict on ${displayTitle(item)}` });
  const render = () => {
    const v = WatchList.verdict(item.id);
    wrap.replaceChildren(
      h("button", { type: "button", class: "like", "aria-pressed": v === "like" ? "true" : "false",
        title: "Add to my list as liked", onclick: () => toggle("like") }, "Like"),
      h("button", { type: "button", class: "dislike", "aria-pressed": v === "dislike" ? "true" : "false",
        title: "Add to my list as disliked", onclick: () => toggle("dislike") }, "Dislike"));
  };
  const toggle = (verdict) => {
    const now = WatchList.verdict(item.id) === verdict ? null : verdict;
    WatchList.set(item, now);
    render();
    announce(now ? `${displayTitle(item)} ${now}d` : `${displayTitle(item)} removed from your list`);
  };
  render();
  return wrap;
}

// ---------------------------------------------------------------- views

function hitsList(results, { label }) {
  if (!results.length) return h("p", { class: "empty" }, "Nothing here with these filters.");
  return h("ol", { class: "hits", "aria-label": label },
    results.map((r) => h("li", { class: "hit" },
      h("a", { href: `#/anime/${r.id}`, class: "hit-title" }, displayTitle(r)),
      r.english_title && r.english_title !== r.title ? h("span", { class: "alt" }, r.title) : null,
      h("span", { class: "meta" }, [r.type, r.episodes ? `${r.episodes} ep` : null, (r.genres || []).slice(0, 3).join(", ")]
        .filter(Boolean).join(" · ")),
      verdictButtons(r))));
}

function loading(text) {
  return h("p", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text || "Loading…");
}

function errorBox(err, retry) {
  const offline = err.status === 0 || err.status >= 500;
  return h("div", { class: "error", role: "alert" },
    h("p", {}, h("strong", {}, offline ? "The recommendation service is not answering. " : "That did not work: "),
      err.message),
    retry ? h("button", { type: "button", class: "retry", onclick: retry }, "Try again") : null);
}

// Runs `load` into `box`, showing loading, then its content or an error with a retry.
async function fill(box, load, text) {
  box.replaceChildren(loading(text));
  const slow = setTimeout(() => box.querySelector(".loading") &&
    box.querySelector(".loading").append(" (still waiting for the server)"), 3000);
  try {
    const content = await load();
    box.replaceChildren(content);
  } catch (err) {
    if (err.status === -1) return;
    // A genre or type the catalogue has but this collection never uses: nothing matches.
    const reason = err.body.reason;
    if (reason === "UNKNOWN_GENRE" || reason === "UNKNOWN_TYPE") {
      box.replaceChildren(h("p", { class: "empty" }, "Nothing here with these filters."));
      return;
    }
    box.replaceChildren(errorBox(err, () => fill(box, load, text)));
  } finally {
    clearTimeout(slow);
  }
}

function filtersForm(route, params) {
  const f = { type: params.get("type") || "", genre: params.get("genre") || "" };
  const change = () => {
    const p = new URLSearchParams(params);
    for (const key of ["type", "genre"]) {
      const v = form.elements[key].value;
      if (v) p.set(key, v); else p.delete(key);
    }
    location.hash = `${route}?${p.toString()}`.replace(/\?$/, "");
  };
  const form = h("form", { class: "filters", "aria-label": "Filters", onsubmit: (e) => e.preventDefault() },
    h("label", {}, "Type ",
      h("select", { name: "type", onchange: change },
        h("option", { value: "" }, "Any type"),
        TYPES.map((t) => h("option", { value: t, selected: t === f.type }, t)))),
    h("label", {}, "Genre ",
      h("select", { name: "genre", onchange: change },
        h("option", { value: "" }, "Any genre"),
        GENRES.map((g) => h("option", { value: g, selected: g === f.genre }, g)))));
  return { form, filter: f };
}

function renderHome(main) {
  main.replaceChildren(
    h("section", { class: "intro" },
      h("h1", {}, "Find your next anime"),
      h("p", {}, "Type a title you liked, or describe a story (\u201ca girl who works in a bathhouse for spirits\u201d). ",
        "Open an anime to see what its viewers also watched, which stories are alike and what shares its genres. ",
        "Like and dislike anime to build your list, then ask for recommendations."),
      h("ul", { class: "examples", "aria-label": "Examples" },
        ["Cowboy Bebop", "K-On!", "bounty hunters drifting through space", "high school volleyball team"]
          .map((q) => h("li", {}, h("a", { href: `#/search?q=${encodeURIComponent(q)}` }, q))))));
}

function renderSearch(main, params, signal) {
  const q = (params.get("q") || "").trim();
  const { form, filter } = filtersForm("#/search", params);
  const titles = h("section", { class: "panel", "aria-labelledby": "titles-h" });
  const stories = h("section", { class: "panel", "aria-labelledby": "stories-h" });
  main.replaceChildren(h("h1", {}, "Results for \u201c", q, "\u201d"), form, h("div", { class: "columns two" }, titles, stories));
  document.getElementById("q").value = q;
  if (!q) {
    main.replaceChildren(h("p", { class: "empty" }, "Type a title or a story in the search box."));
    return;
  }
  fill(titles, async () => {
    const data = await api(`/titles?q=${encodeURIComponent(q)}&n=20${policyQuery()}`, { signal });
    // Title lookup has no filters in the API: the same type and genre rule, applied here.
    const kept = data.results.filter((r) => (!filter.type || r.type === filter.type) &&
      (!filter.genre || (r.genres || []).includes(filter.genre)));
    const strong = kept.filter((r) => r.score >= 0.7).slice(0, 8);
    const body = [h("h2", { id: "titles-h" }, "Titles")];
    if (strong.length) {
      body.push(hitsList(strong, { label: "Matching titles" }));
    } else {
      body.push(h("p", { class: "empty" }, "No anime is titled \u201c", q, "\u201d."));
      if (kept.length) {
        body.push(h("p", {}, "Did you mean:"), hitsList(kept.slice(0, 5), { label: "Closest titles" }));
      }
    }
    return h("div", {}, body);
  }, "Looking up titles…");
  fill(stories, async () => {
    const fq = filterQuery(filter);
    const data = await api(`/search?q=${encodeURIComponent(q)}&k=12${fq ? `&${fq}` : ""}`, { signal });
    return h("div", {}, h("h2", { id: "stories-h" }, "Stories like your description"),
      hitsList(data.results, { label: "Stories like your description" }));
  }, "Searching synopses…");
}

function renderAnime(main, id, params, signal) {
  const { form, filter } = filtersForm(`#/anime/${id}`, params);
  const head = h("section", { class: "anime", "aria-label": "Anime" });
  const lists = h("div", { class: "columns three" });
  const more = h("section", { "aria-labelledby": "more-h", hidden: true },
    h("h2", { class: "section-h", id: "more-h" }, "More like this"), form, lists);
  // The anime's own seasons, films and OVAs: listed apart by the API, so they neither
  // fill the lists below nor vanish from them. Every list's answer carries the group;
  // the first answer that has entries fills it.
  const franchiseList = h("div", {});
  const franchise = h("section", { class: "panel franchise", "aria-labelledby": "franchise-h", hidden: true },
    h("h2", { class: "section-h", id: "franchise-h" }, "In the same franchise"), franchiseList);
  const showFranchise = (group) => {
    if (!franchise.hidden || !group || !group.results || !group.results.length) return;
    franchiseList.replaceChildren(hitsList(group.results, { label: "In the same franchise" }));
    franchise.hidden = false;
  };
  main.replaceChildren(head, franchise, more);
  fill(head, async () => {
    const item = await api(`/items/${id}`, { signal });
    document.title = `${displayTitle(item)}: simsearch`;
    const details = h("div", {},
      h("h1", {}, displayTitle(item)),
      item.english_title && item.english_title !== item.title ? h("p", { class: "alt" }, item.title) : null,
      h("dl", { class: "facts" },
        item.type ? [h("dt", {}, "Type"), h("dd", {}, item.type)] : null,
        item.episodes ? [h("dt", {}, "Episodes"), h("dd", {}, item.episodes)] : null,
        item.genres && item.genres.length ? [h("dt", {}, "Genres"), h("dd", {}, item.genres.join(", "))] : null,
        item.members ? [h("dt", {}, "Members"), h("dd", {}, item.members.toLocaleString("en"))] : null),
      item.synopsis ? h("p", { class: "synopsis" }, item.synopsis) : h("p", { class: "empty" }, "No synopsis."),
      h("p", { class: "actions" }, verdictButtons(item), " ",
        h("a", { href: `https://myanimelist.net/anime/${item.id}`, rel: "noopener noreferrer", target: "_blank" },
          "On MyAnimeList")));
    more.hidden = false;
    lists.replaceChildren(...LISTS.map((l) => {
      const box = h("section", { class: "panel", "aria-label": l.title, "data-collection": l.collection });
      if (!(item.collections || []).includes(l.collection)) {
        box.append(h("h3", {}, l.title), h("p", { class: "empty" }, l.missing));
        return box;
      }
      const origin = (item.vectors || {})[l.collection];
      fill(box, async () => {
        const data = await api("/recommend", { method: "POST", signal,
          body: Object.assign({ id: item.id, n: 10, collection: l.collection }, filterBody(filter)) });
        // Too new or too rare for viewing data: the list comes from a vector predicted
        // from the anime's content, and says so.
        const note = origin && origin.source === "predicted"
          ? h("p", { class: "note predicted" }, origin.viewers > 0
            ? `Only ${origin.viewers} of our users watched it: this list is predicted from its story, genres, franchise and popularity.`
            : "Nobody in our users' lists watched it yet: this list is predicted from its story, genres, franchise and popularity.")
          : null;
        // An adult anime's lists are left empty by the API's content policy, which says why.
        if (data.notice && !data.results.length) {
          return h("div", {}, h("h3", {}, l.title), h("p", { class: "empty" }, "This anime is for adults: its lists are not shown."));
        }
        showFranchise(data.franchise);
        return h("div", {}, h("h3", {}, l.title), note, hitsList(data.results, { label: l.title }));
      }, `Loading ${l.title.toLowerCase()}…`);
      return box;
    }));
    return details;
  }, "Loading the anime…");
}

function renderList(main, params, signal) {
  const items = WatchList.read();
  const { form, filter } = filtersForm("#/list", params);
  const recs = h("section", { class: "panel", "aria-labelledby": "recs-h" });
  const fileInput = h("input", { type: "file", accept: "application/json,.json", class: "visually-hidden", id: "import-file",
    onchange: async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      try {
        const { imported, skipped } = WatchList.import(await file.text());
        importNotice = skipped.length
          ? `Imported ${imported} anime; skipped ${skipped.length} ${skipped.length === 1 ? "entry" : "entries"} (${summarize(skipped)}).`
          : `Imported ${imported} anime.`;
        announce(importNotice);
        route();
      } catch (err) {
        status.replaceChildren(h("div", { class: "error", role: "alert" }, h("p", {}, "Import failed: ", err.message)));
      }
    } });
  const status = h("div", {});
  if (importNotice) {
    status.replaceChildren(h("p", { class: "notice", role: "status" }, importNotice));
    importNotice = "";
  }
  const row = (x) => h("li", { class: "hit" },
    h("a", { href: `#/anime/${x.id}`, class: "hit-title" }, displayTitle(x)),
    h("span", { class: "meta" }, [x.type, x.verdict === "like" ? "liked" : "disliked"].filter(Boolean).join(" · ")),
    h("button", { type: "button", class: "remove", "aria-label": `Remove ${displayTitle(x)}`,
      onclick: () => { WatchList.set(x, null); route(); } }, "Remove"));
  const liked = items.filter((x) => x.verdict === "like"), disliked = items.filter((x) => x.verdict === "dislike");
  main.replaceChildren(
    h("h1", {}, "My list"),
    status,
    items.length
      ? h("div", { class: "columns two" },
        h("section", { class: "panel", "aria-labelledby": "liked-h" }, h("h2", { id: "liked-h" }, `Liked (${liked.length})`),
          liked.length ? h("ul", { class: "hits" }, liked.map(row)) : h("p", { class: "empty" }, "Nothing liked yet.")),
        h("section", { class: "panel", "aria-labelledby": "disliked-h" }, h("h2", { id: "disliked-h" }, `Disliked (${disliked.length})`),
          disliked.length ? h("ul", { class: "hits" }, disliked.map(row)) : h("p", { class: "empty" }, "Nothing disliked.")))
      : h("p", { class: "empty" }, "Your list is empty. Open an anime and press Like or Dislike; the list stays in this browser."),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", id: "recommend", disabled: liked.length === 0,
        onclick: () => { const p = new URLSearchParams(params); p.set("recommend", "1"); location.hash = `#/list?${p}`; } },
      "Recommend for my list"), " ",
      h("button", { type: "button", onclick: exportList, disabled: items.length === 0 }, "Export"), " ",
      h("label", { for: "import-file", class: "button", tabindex: "0",
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); } } }, "Import"),
      fileInput, " ",
      h("button", { type: "button", disabled: items.length === 0,
        onclick: () => { if (confirm("Remove every anime from your list?")) { WatchList.write([]); route(); } } }, "Clear")),
    ...(params.get("recommend") === "1" && liked.length ? [form, recs] : []));
  if (params.get("recommend") !== "1" || !liked.length) return;
  fill(recs, async () => {
    const data = await api("/recommend", { method: "POST", signal,
      body: Object.assign({ like: liked.map((x) => x.id), dislike: disliked.map((x) => x.id), dislike_weight: 0.25,
        n: 20, collection: "ncf" }, filterBody(filter)) });
    // Every catalogue anime counts (learned or predicted vector); only ids the catalogue
    // does not know are left out, and named.
    const ignored = data.ignored || [];
    const names = ignored.map((id) => { const x = items.find((i) => i.id === id); return x ? displayTitle(x) : `#${id}`; });
    return h("div", {}, h("h2", { id: "recs-h" }, "Recommended for your list"),
      ignored.length ? h("p", { class: "note" }, `Left out, not in our catalogue: ${names.join(", ")}.`) : null,
      hitsList(data.results, { label: "Recommended for your list" }));
  }, "Finding anime for your list…");
}

function exportList() {
  const blob = new Blob([JSON.stringify({ version: 1, items: WatchList.read() }, null, 2)], { type: "application/json" });
  const a = h("a", { href: URL.createObjectURL(blob), download: "my-anime-list.json" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---------------------------------------------------------------- routing

let current = null;  // AbortController of the view on screen

function route() {
  if (current) current.abort();
  current = new AbortController();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const main = document.getElementById("main");
  closeSuggestions();
  document.title = "simsearch: anime recommendations";
  const anime = path.match(/^\/anime\/(\d+)$/);
  if (anime) renderAnime(main, Number(anime[1]), params, current.signal);
  else if (path === "/search") renderSearch(main, params, current.signal);
  else if (path === "/list") renderList(main, params, current.signal);
  else if (path === "/" || path === "") renderHome(main);
  else main.replaceChildren(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Start again")));
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- the search box

let suggestTimer = null, suggestController = null, activeIndex = -1;

function closeSuggestions() {
  const list = document.getElementById("suggestions");
  const input = document.getElementById("q");
  list.hidden = true;
  list.replaceChildren();
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
  activeIndex = -1;
}

function setActive(i) {
  const options = [...document.querySelectorAll("#suggestions [role=option]")];
  if (!options.length) return;
  activeIndex = (i + options.length) % options.length;
  options.forEach((o, j) => o.setAttribute("aria-selected", j === activeIndex ? "true" : "false"));
  document.getElementById("q").setAttribute("aria-activedescendant", options[activeIndex].id);
  options[activeIndex].scrollIntoView({ block: "nearest" });
}

async function suggest(text) {
  if (suggestController) suggestController.abort();
  suggestController = new AbortController();
  const list = document.getElementById("suggestions");
  const input = document.getElementById("q");
  try {
    const data = await api(`/titles?q=${encodeURIComponent(text)}&n=8${policyQuery()}`, { signal: suggestController.signal });
    if (input.value.trim() !== text) return;
    list.replaceChildren(...data.results.map((r, i) => h("li", {
      id: `suggestion-${i}`, role: "option", "aria-selected": "false", class: "suggestion",
      onmousedown: (e) => { e.preventDefault(); pick(r.id); },
    }, h("span", {}, displayTitle(r)), h("span", { class: "meta" }, [r.type, r.english_title && r.english_title !== r.title ? r.title : null].filter(Boolean).join(" · ")))));
    list.hidden = data.results.length === 0;
    input.setAttribute("aria-expanded", data.results.length ? "true" : "false");
    activeIndex = -1;
    window.performance.mark(`suggestions:${text}`);
  } catch (err) {
    if (err.status !== -1) closeSuggestions();
  }
}

function pick(id) {
  closeSuggestions();
  document.getElementById("q").value = "";
  location.hash = `#/anime/${id}`;
}

function setUpSearchBox() {
  const input = document.getElementById("q");
  const form = document.getElementById("search-form");
  input.addEventListener("input", () => {
    clearTimeout(suggestTimer);
    const text = input.value.trim();
    if (text.length < 2) { closeSuggestions(); return; }
    suggestTimer = setTimeout(() => suggest(text), 120);
  });
  input.addEventListener("keydown", (e) => {
    const open = !document.getElementById("suggestions").hidden;
    if (e.key === "ArrowDown" && open) { e.preventDefault(); setActive(activeIndex + 1); }
    else if (e.key === "ArrowUp" && open) { e.preventDefault(); setActive(activeIndex - 1); }
    else if (e.key === "Escape") closeSuggestions();
    else if (e.key === "Enter" && open && activeIndex >= 0) {
      e.preventDefault();
      const option = document.querySelectorAll("#suggestions [role=option]")[activeIndex];
      option.dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
    }
  });
  input.addEventListener("blur", () => setTimeout(closeSuggestions, 150));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    closeSuggestions();
    location.hash = `#/search?q=${encodeURIComponent(text)}`;
  });
}

window.addEventListener("hashchange", route);
window.addEventListener("storage", updateListCount);
document.addEventListener("DOMContentLoaded", () => {
  const safe = document.getElementById("family-safe");
  safe.checked = familySafe();
  safe.addEventListener("change", () => {
    safeChoice = safe.checked;
    try { localStorage.setItem(SAFE_KEY, safe.checked ? "1" : "0"); } catch (e) { /* not kept for the next visit */ }
    route();
  });
  setUpSearchBox();
  updateListCount();
  route();
});
