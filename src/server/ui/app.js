// cdnsim timeline: one page, no library. Everything it shows comes from this server:
//   GET  /_cdnsim/scenario   the span, domains, incident windows and scripted submissions
//   GET  /_cdnsim/clock      the server clock (polled once a second)
//   GET  /_cdnsim/stats      rows by status per time bucket (the chart)
//   GET  /?Action=DescribeRefreshTasks / DescribeRefreshQuota   the API itself, as of the
//        replay time (x-cdnsim-replay-time), marked as an observer's read (x-cdnsim-observer)
//        so that error rules neither answer nor count it
//   GET  /_cdnsim/history    a task's transitions, from the log
//   POST /_cdnsim/clock      the advance buttons (manual clock only)
// The page's state (replay time, filters, page, the open history) lives in the URL's fragment, so a link
// reopens the same view.
"use strict";

const REASONS = ["Internal Error", "Origin timeout", "Origin Return StatusCode 5XX"];
// Stacked from the bottom up.
const STATUSES = ["complete", "failed", "refreshing", "pending"];
const QUOTA_TYPES = [
  ["Url", "file"], ["Dir", "directory"], ["Regex", "regex"], ["IgnoreParams", "IgnoreParams"],
  ["Preload", "preload"], ["PreloadEdge", "preload (L1)"], ["Block", "block"],
];
const W = 1000;
const BANDS = {
  rows: { top: 30, bottom: 186, label: "rows by status" },
  flight: { top: 204, bottom: 246, label: "in flight: Pending + Refreshing" },
  fails: { top: 264, bottom: 302, label: "failed in the bucket, by reason" },
};
const AXIS_Y = 322;
const BUCKETS = 250;
const POLL_MS = 1000;
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  info: null, // GET scenario
  clock: null, // GET clock
  stats: null, // GET stats
  span: null, // { from, to, end }: the chart's x-axis (ms); `to` is the clock
  at: null, // the replay time (ms)
  follow: true,
  page: 1,
  filters: { domain: "", type: "", status: "", task: "", path: "", size: "20" },
  selected: null, // { task_id, object_path }
  seen: null, // what the last complete refresh saw: the clock and the event count
  // The latest request of each kind; an answer to an older one is dropped, so a slow answer
  // never overwrites a newer one.
  latest: { stats: 0, tasks: 0, quota: 0, history: 0 },
};

/// A ticket for a new request of `kind`; `current(kind, ticket)` says whether it is still the
/// latest when its answer comes.
function ticket(kind) {
  state.latest[kind] += 1;
  return state.latest[kind];
}

function current(kind, t) {
  return state.latest[kind] === t;
}

const $ = (id) => document.getElementById(id);
const fmt = (ms) => new Date(ms).toISOString();
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseTime(text) {
  const t = text.trim();
  if (!RFC3339.test(t)) return null;
  const ms = Date.parse(t.replace(" ", "T"));
  return Number.isFinite(ms) ? ms : null;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs, title) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (title) {
    const t = document.createElementNS(SVG_NS, "title");
    t.textContent = title;
    node.append(t);
  }
  return node;
}

/// Fetches JSON; an answer that is not 2xx becomes an Error with the server's words.
async function getJSON(url, options) {
  const response = await fetch(url, { cache: "no-store", credentials: "same-origin", ...options });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (_) {
    body = null;
  }
  if (response.status === 401) {
    throw new Error("the admin token is needed again: reload the page to sign in");
  }
  if (!response.ok || body === null) {
    const words = body && (body.error || (body.Code && `${body.Code}: ${body.Message}`));
    throw new Error(`${response.status} ${words || text.slice(0, 200)}`);
  }
  return body;
}

/// True when a failed request got an answer to show (a 4xx: the API's or the server's refusal);
/// false when it should be tried again (a 5xx, no answer, the token needed again).
function settled(error) {
  const status = Number(error.message.slice(0, 3));
  return status >= 400 && status < 500 && status !== 401;
}

function asOfHeaders() {
  return { "x-cdnsim-replay-time": fmt(state.at), "x-cdnsim-observer": "1" };
}

function say(text) {
  $("status").textContent = text;
}

// ---- the URL's fragment ---------------------------------------------------------------

function readFragment() {
  const p = new URLSearchParams(location.hash.slice(1));
  // The whole view comes from the fragment: what it does not name is the default.
  const at = p.has("at") ? parseTime(p.get("at")) : null;
  state.follow = at === null;
  if (at !== null) state.at = at;
  const get = (key, otherwise) => p.get(key) || otherwise;
  state.filters = {
    domain: get("domain", ""), type: get("type", ""), status: get("status", ""),
    task: get("task", ""), path: get("path", ""), size: get("size", "20"),
  };
  state.selected = p.has("history_task")
    ? { task_id: p.get("history_task"), object_path: p.get("history_path") || "" }
    : null;
  const page = Number(p.get("page"));
  state.page = Number.isInteger(page) && page > 0 ? page : 1;
}

function writeFragment() {
  const p = new URLSearchParams();
  if (!state.follow && state.at !== null) p.set("at", fmt(state.at));
  for (const [k, v] of Object.entries(state.filters)) {
    if (v && !(k === "size" && v === "20")) p.set(k, v);
  }
  if (state.page > 1) p.set("page", String(state.page));
  if (state.selected) {
    p.set("history_task", state.selected.task_id);
    p.set("history_path", state.selected.object_path);
  }
  const hash = p.toString();
  history.replaceState(null, "", hash ? `#${hash}` : location.pathname);
}

// ---- the chart ------------------------------------------------------------------------

function xOf(ms) {
  const { from, end } = state.span;
  return end > from ? ((ms - from) / (end - from)) * W : 0;
}

function msOf(x) {
  const { from, end } = state.span;
  return Math.round(from + (x / W) * (end - from));
}

function bandScale(band, max) {
  return (v) => (max > 0 ? (v / max) * (band.bottom - band.top) : 0);
}

function drawChart() {
  const chart = $("chart");
  chart.replaceChildren();
  const stats = state.stats;
  if (!stats || !state.span) return;
  const buckets = stats.buckets;
  const total = (b) => b.pending + b.refreshing + b.complete + b.failed;
  const failsOf = (b) => REASONS.reduce((n, r) => n + (b.failed_in_bucket[r] || 0), 0);
  const maxRows = Math.max(0, ...buckets.map(total));
  const maxFlight = Math.max(0, ...buckets.map((b) => b.pending + b.refreshing));
  const maxFails = Math.max(0, ...buckets.map(failsOf));
  for (const [key, band] of Object.entries(BANDS)) {
    chart.append(svg("rect", { x: 0, y: band.top, width: W, height: band.bottom - band.top, fill: "#fbfcfd" }));
    const max = { rows: maxRows, flight: maxFlight, fails: maxFails }[key];
    const label = svg("text", { x: 4, y: band.top - 3, class: "band-label" });
    label.textContent = `${band.label} (max ${max})`;
    chart.append(label);
  }
  drawIncidents(chart);
  const rowsH = bandScale(BANDS.rows, maxRows);
  const flightH = bandScale(BANDS.flight, maxFlight);
  const failsH = bandScale(BANDS.fails, maxFails);
  let start = Date.parse(stats.from);
  for (const b of buckets) {
    const end = Date.parse(b.end);
    const x0 = xOf(start);
    const width = Math.max(xOf(end) - x0, 0.6);
    const reasons = REASONS.map((r) => `${r} ${b.failed_in_bucket[r] || 0}`).join(", ");
    const g = svg("g", {}, `${fmt(start)} .. ${b.end}\nPending ${b.pending}, Refreshing ${b.refreshing}, ` +
      `Complete ${b.complete}, Failed ${b.failed}\nfailed in the bucket: ${reasons}`);
    let y = BANDS.rows.bottom;
    for (const s of STATUSES) {
      const h = rowsH(b[s]);
      if (h > 0) g.append(svg("rect", { x: x0, y: y - h, width, height: h, class: s }));
      y -= h;
    }
    y = BANDS.flight.bottom;
    for (const s of ["refreshing", "pending"]) {
      const h = flightH(b[s]);
      if (h > 0) g.append(svg("rect", { x: x0, y: y - h, width, height: h, class: s }));
      y -= h;
    }
    y = BANDS.fails.bottom;
    REASONS.forEach((r, i) => {
      const h = failsH(b.failed_in_bucket[r] || 0);
      if (h > 0) g.append(svg("rect", { x: x0, y: y - h, width, height: h, class: i ? `reason-${i}` : "failed" }));
      y -= h;
    });
    chart.append(g);
    start = end;
  }
  drawScripts(chart);
  drawAxis(chart);
  const clockX = xOf(Date.parse(state.clock.now));
  chart.append(svg("line", { x1: clockX, x2: clockX, y1: 4, y2: BANDS.fails.bottom, class: "clockline" },
    `server clock ${state.clock.now}`));
  const atX = xOf(state.at);
  chart.append(svg("line", { x1: atX, x2: atX, y1: 4, y2: BANDS.fails.bottom, class: "cursor", id: "cursor" },
    `replay time ${fmt(state.at)}`));
  chart.dataset.to = stats.to;
}

function drawIncidents(chart) {
  for (const i of state.info.incidents) {
    const x0 = Math.max(0, xOf(Date.parse(i.start)));
    const x1 = Math.min(W, xOf(Date.parse(i.end)));
    if (x1 <= x0) continue;
    chart.append(svg("rect", { x: x0, y: 4, width: x1 - x0, height: BANDS.fails.bottom - 4, class: "incident" },
      `incident on ${i.domain}: ${i.reason} at rate ${i.failure_rate}, ${i.start} .. ${i.end}`));
  }
}

function drawScripts(chart) {
  for (const s of state.info.scripts) {
    const x = xOf(Date.parse(s.at));
    if (x < 0 || x > W) continue;
    const outcome = s.outcome === "Failed" ? `Failed (${s.reason})` : "Complete";
    chart.append(svg("polygon", { points: `${x},2 ${x + 5},8 ${x},14 ${x - 5},8`, class: "script" },
      `script at ${s.at}: ${s.paths} ${s.type} path(s) on ${s.domain}, forced ${outcome}`));
  }
}

function drawAxis(chart) {
  const { from, end } = state.span;
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const ms = from + ((end - from) * i) / ticks;
    const x = (W * i) / ticks;
    chart.append(svg("line", { x1: x, x2: x, y1: BANDS.fails.bottom, y2: BANDS.fails.bottom + 5, class: "grid", stroke: "#8c959f" }));
    const label = svg("text", { x: Math.min(Math.max(x, 2), W - 2), y: AXIS_Y, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" });
    label.textContent = fmt(ms).slice(5, 16).replace("T", " ");
    chart.append(label);
  }
}

// ---- loading --------------------------------------------------------------------------

/// The clock, then the chart when anything moved, then everything as of the replay time.
async function refresh(force) {
  const clock = await getJSON("/_cdnsim/clock");
  state.clock = clock;
  $("clock-now").textContent = clock.now;
  $("clock-mode").textContent = clock.mode === "live" ? `live ×${clock.speed}` : "manual";
  $("advance").hidden = !(clock.mode === "manual" && !state.info.read_only);
  const now = Date.parse(clock.now);
  const seen = `${clock.now} ${clock.events}`;
  const moved = seen !== state.seen;
  if (state.follow || state.at === null || state.at > now) state.at = now;
  if (moved || force) await loadStats(now);
  showTime();
  if (moved || force) await loadAsOf();
  // Only once everything loaded: a failed load is tried again at the next poll.
  state.seen = seen;
  say(`${clock.events} events in the log${clock.log_end ? `, the last at ${clock.log_end}` : ""}`);
}

async function loadStats(now) {
  const infoStart = state.info.start ? Date.parse(state.info.start) : null;
  const q = new URLSearchParams({ to: fmt(now), buckets: String(BUCKETS) });
  if (infoStart !== null && infoStart <= now) q.set("from", fmt(infoStart));
  if (state.filters.domain) q.set("domain", state.filters.domain);
  if (state.filters.type) q.set("type", state.filters.type);
  const t = ticket("stats");
  const stats = await getJSON(`/_cdnsim/stats?${q}`);
  if (!current("stats", t)) return;
  const from = Date.parse(stats.from);
  const infoEnd = state.info.end ? Date.parse(state.info.end) : now;
  state.stats = stats;
  state.span = { from, to: now, end: Math.max(now, infoEnd, from + 1) };
  const scrubber = $("scrubber");
  // The scrubber spans the chart's axis, so its thumb sits under the cursor; past the clock
  // it stops at the clock.
  scrubber.min = String(from);
  scrubber.max = String(state.span.end);
  drawChart();
}

/// The table, the quota and the open history, as of the replay time.
async function loadAsOf() {
  writeFragment();
  const done = await Promise.all([loadTasks(), loadQuota(), loadHistory()]);
  if (done.includes(false)) throw new Error("a part of the page did not load; trying again");
}

function showTime() {
  const input = $("replay-time");
  if (document.activeElement !== input) input.value = fmt(state.at);
  $("scrubber").value = String(state.at);
  $("follow").checked = state.follow;
  $("as-of").textContent = fmt(state.at);
  const cursor = $("cursor");
  if (cursor && state.span) {
    const x = xOf(state.at);
    cursor.setAttribute("x1", x);
    cursor.setAttribute("x2", x);
  }
}

function taskQuery() {
  const f = state.filters;
  const q = new URLSearchParams({
    Action: "DescribeRefreshTasks", Format: "JSON",
    PageNumber: String(state.page), PageSize: f.size,
  });
  if (f.domain) q.set("DomainName", f.domain);
  if (f.type) q.set("ObjectType", f.type);
  if (f.status) q.set("Status", f.status);
  if (f.task.trim()) q.set("TaskId", f.task.trim());
  if (f.path.trim()) q.set("ObjectPath", f.path.trim());
  return q;
}

async function loadTasks() {
  const t = ticket("tasks");
  const q = taskQuery();
  const at = fmt(state.at);
  const table = $("tasks");
  let answer;
  try {
    answer = await getJSON(`/?${q}`, { headers: asOfHeaders() });
  } catch (e) {
    if (!current("tasks", t)) return true;
    // The API's own words, and what to do about the one a person meets most.
    const hint = e.message.includes("MissingParameter.ObjectType")
      ? " Choose a type: with a status or a domain, the API needs one."
      : "";
    $("api-problem").textContent = e.message + hint;
    table.tBodies[0].replaceChildren();
    $("total").textContent = "–";
    $("pages").textContent = "–";
    $("next").disabled = true;
    table.dataset.at = at;
    table.dataset.query = q.toString();
    table.dataset.error = "1";
    return settled(e);
  }
  if (!current("tasks", t)) return true;
  $("api-problem").textContent = "";
  const tasks = (answer.Tasks && answer.Tasks.CDNTask) || [];
  const rows = tasks.map((t) => {
    const tr = el("tr", { "data-task": t.TaskId, "data-path": t.ObjectPath },
      el("td", {}, t.TaskId), el("td", { title: t.ObjectPath }, t.ObjectPath), el("td", {}, t.ObjectType),
      el("td", { class: `status-${t.Status}` }, t.Status), el("td", {}, t.Process),
      el("td", {}, t.CreationTime), el("td", {}, t.Description || ""));
    const sel = state.selected;
    if (sel && sel.task_id === t.TaskId && sel.object_path === t.ObjectPath) tr.classList.add("selected");
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  const total = Number(answer.TotalCount);
  const size = Number(answer.PageSize) || Number(state.filters.size);
  const pages = Math.max(1, Math.ceil(total / size));
  if (state.page > pages) {
    // An earlier time or a new filter has fewer pages: show the last one.
    state.page = pages;
    return loadTasks();
  }
  $("total").textContent = String(total);
  $("page").textContent = String(answer.PageNumber);
  $("pages").textContent = String(pages);
  $("prev").disabled = state.page <= 1;
  $("next").disabled = state.page >= pages;
  table.dataset.at = at;
  table.dataset.query = q.toString();
  delete table.dataset.error;
  return true;
}

async function loadQuota() {
  const body = $("quota").tBodies[0];
  const t = ticket("quota");
  const at = fmt(state.at);
  let ok = true;
  try {
    const q = await getJSON("/?Action=DescribeRefreshQuota&Format=JSON", { headers: asOfHeaders() });
    if (!current("quota", t)) return true;
    body.replaceChildren(...QUOTA_TYPES.map(([key, name]) =>
      el("tr", { "data-type": key }, el("td", {}, name), el("td", {}, q[`${key}Remain`]), el("td", {}, q[`${key}Quota`]))));
  } catch (e) {
    if (!current("quota", t)) return true;
    body.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "problem" }, e.message)));
    ok = settled(e);
  }
  $("quota").dataset.at = at;
  return ok;
}

async function loadHistory() {
  const box = $("history");
  const sel = state.selected;
  if (!sel) return true;
  const t = ticket("history");
  const at = fmt(state.at);
  const q = new URLSearchParams({ task_id: sel.task_id });
  if (sel.object_path) q.set("object_path", sel.object_path);
  let answer;
  try {
    answer = await getJSON(`/_cdnsim/history?${q}`, { headers: asOfHeaders() });
  } catch (e) {
    if (current("history", t)) box.replaceChildren(el("p", { class: "problem" }, e.message));
    return settled(e);
  }
  if (!current("history", t)) return true;
  $("history-hint").hidden = true;
  box.replaceChildren(...answer.rows.map((r) => {
    const steps = r.transitions.map((t) => el("tr", {},
      el("td", {}, t.at), el("td", { class: `status-${t.status}` }, t.status),
      el("td", {}, t.process), el("td", {}, t.reason || "")));
    return el("div", { class: "history-row", "data-row": String(r.row) },
      el("h3", {}, `TaskId ${r.task_id} · row ${r.row} · ${r.object_type} · from the ${r.source}`),
      el("div", { class: "mono" }, r.object_path),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "at"), el("th", {}, "status"),
        el("th", {}, "Process"), el("th", {}, "reason"))), el("tbody", {}, ...steps)));
  }));
  box.dataset.at = at;
  box.dataset.task = sel.task_id;
  return true;
}

function showMarks() {
  const list = $("marks");
  const items = [
    ...state.info.incidents.map((i) =>
      el("li", {}, `incident on ${i.domain}: ${i.reason} (rate ${i.failure_rate}), ${i.start} .. ${i.end}`)),
    ...state.info.scripts.map((s) =>
      el("li", {}, `script at ${s.at}: ${s.paths} ${s.type} path(s) on ${s.domain}, forced ${s.outcome}` +
        (s.reason ? ` (${s.reason})` : ""))),
  ];
  if (items.length === 0) {
    items.push(el("li", { class: "hint" }, state.info.start === null
      ? "Serving a log alone: give its scenario too (serve --log FILE --scenario FILE) to mark them."
      : "This scenario has none."));
  }
  list.replaceChildren(...items);
}

// ---- what the person does --------------------------------------------------------------

/// Sets the replay time (stops following the clock) and reloads what depends on it.
function setTime(ms) {
  const now = Date.parse(state.clock.now);
  state.at = Math.min(Math.round(ms), now);
  state.follow = false;
  showTime();
  guard(loadAsOf());
}

function guard(promise) {
  promise.catch((e) => say(`error: ${e.message}`));
}

function readFilters() {
  state.filters = {
    domain: $("f-domain").value, type: $("f-type").value, status: $("f-status").value,
    task: $("f-task").value, path: $("f-path").value, size: $("f-size").value,
  };
}

function showFilters() {
  const f = state.filters;
  // A value from a link that is not among a list's choices (a domain with no rows yet, say)
  // becomes one, so what the list shows is what the page asks.
  for (const [id, value] of [["f-domain", f.domain], ["f-type", f.type], ["f-status", f.status], ["f-size", f.size]]) {
    const select = $(id);
    if (value && ![...select.options].some((o) => o.value === value)) select.append(el("option", { value }, value));
  }
  $("f-domain").value = f.domain;
  $("f-type").value = f.type;
  $("f-status").value = f.status;
  $("f-task").value = f.task;
  $("f-path").value = f.path;
  $("f-size").value = f.size;
}

function wire() {
  let scrubTimer = null;
  const scrubbed = (e) => {
    const now = Date.parse(state.clock.now);
    if (Number(e.target.value) > now) e.target.value = String(now);
    return Math.min(Math.round(Number(e.target.value)), now);
  };
  $("scrubber").addEventListener("input", (e) => {
    if (!state.clock) return;
    state.at = scrubbed(e);
    state.follow = false;
    showTime();
    clearTimeout(scrubTimer);
    scrubTimer = setTimeout(() => setTime(state.at), 120);
  });
  $("scrubber").addEventListener("change", (e) => {
    if (!state.clock) return;
    clearTimeout(scrubTimer);
    setTime(scrubbed(e));
  });
  $("time-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!state.clock) return;
    const text = $("replay-time").value;
    const ms = parseTime(text);
    const now = Date.parse(state.clock.now);
    const problem = $("time-problem");
    if (ms === null) {
      problem.textContent = `"${text}" is not an RFC 3339 time (like 2026-11-01T12:00:00Z)`;
    } else if (ms > now) {
      problem.textContent = `${text} is later than the server clock (${state.clock.now})`;
    } else {
      problem.textContent = "";
      $("replay-time").blur();
      setTime(ms);
    }
  });
  $("follow").addEventListener("change", (e) => {
    state.follow = e.target.checked;
    guard(refresh(true));
  });
  $("chart").addEventListener("click", (e) => {
    if (!state.span || !state.clock) return;
    const box = e.currentTarget.getBoundingClientRect();
    setTime(msOf(((e.clientX - box.left) / box.width) * W));
  });
  const refilter = (e) => {
    if (e) e.preventDefault();
    if (!state.clock) return;
    readFilters();
    state.page = 1;
    guard(Promise.all([loadStats(Date.parse(state.clock.now)), loadAsOf()]));
  };
  $("filters").addEventListener("submit", refilter);
  for (const id of ["f-domain", "f-type", "f-status", "f-size"]) $(id).addEventListener("change", () => refilter());
  $("prev").addEventListener("click", () => { state.page = Math.max(1, state.page - 1); guard(loadAsOf()); });
  $("next").addEventListener("click", () => { state.page += 1; guard(loadAsOf()); });
  $("tasks").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-task]");
    if (!tr) return;
    for (const other of $("tasks").querySelectorAll("tr.selected")) other.classList.remove("selected");
    tr.classList.add("selected");
    state.selected = { task_id: tr.dataset.task, object_path: tr.dataset.path };
    writeFragment();
    guard(loadHistory());
  });
  // A link pasted into this tab: the fragment changes, the page does not reload.
  window.addEventListener("hashchange", () => {
    if (!state.clock) return;
    readFragment();
    showFilters();
    if (!state.selected) {
      $("history").replaceChildren();
      $("history-hint").hidden = false;
    }
    guard(refresh(true));
  });
  for (const button of $("advance").querySelectorAll("button[data-advance]")) {
    button.addEventListener("click", () => guard((async () => {
      await getJSON("/_cdnsim/clock", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ advance: button.dataset.advance }),
      });
      await refresh(false);
    })()));
  }
}

async function start() {
  readFragment();
  showFilters();
  wire();
  try {
    state.info = await getJSON("/_cdnsim/scenario");
  } catch (e) {
    say(`error: ${e.message}`);
    return;
  }
  $("source").textContent = state.info.source === "log" ? "log (read-only)" : "scenario";
  const domains = $("f-domain");
  for (const d of state.info.domains) domains.append(el("option", { value: d }, d));
  showFilters();
  showMarks();
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      await refresh(false);
    } catch (e) {
      say(`error: ${e.message}`);
    } finally {
      polling = false;
    }
  };
  await poll();
  setInterval(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => guard(start()));
