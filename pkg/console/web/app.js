// flowenroll console: upload, check, start, follow, results. No framework,
// no build step; every value from the server goes into the page as text.
"use strict";

const columnNames = {
  crmProspectId: "the CRM ID of the contact or lead",
  flowId: "the flow ID (or the flow's name)",
  flowName: "the flow's name",
  flowInstanceOwnerEmail: "the email of the flow's owner",
};

let current = null;   // the run shown
let stream = null;    // its EventSource
let failedCode = "";  // the reason shown in the failed rows
let failedOffset = 0;
const pageSize = 50;

// el builds an element: el("p", {class: "x"}, "text", child...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const $ = (id) => document.getElementById(id);
const n = (x) => (x || 0).toLocaleString("en-US");
// rowsOf is a count of rows in words: "1 row", "60 rows".
const rowsOf = (x) => n(x) + (x === 1 ? " row" : " rows");

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (typeof body === "string") headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, body, credentials: "same-origin", headers });
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) throw new Error((data && data.error) || ("The server answered " + res.status + "."));
  return data;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds || 0));
  if (seconds < 60) return seconds + " s";
  const m = Math.round(seconds / 60);
  if (m < 60) return m + " min";
  const h = Math.floor(m / 60);
  return h + " h " + (m % 60) + " min";
}

function showError(id, msg) {
  const p = $(id);
  p.textContent = msg || "";
  p.hidden = !msg;
}

// ---- upload ----

function setupUpload() {
  const form = $("upload-form"), drop = $("drop"), file = $("file");
  file.addEventListener("change", () => {
    $("drop-text").textContent = file.files.length ? "Chosen: " + file.files[0].name : "Drop the file here, or choose a file";
  });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer.files.length) {
      file.files = ev.dataTransfer.files;
      file.dispatchEvent(new Event("change"));
      form.requestSubmit();
    }
  });
  const options = form.querySelector("details.options");
  let filled = false;
  options.addEventListener("toggle", () => {
    if (options.open && !filled) { filled = true; fillPickers($("opt-owner"), $("opt-flow"), "", "", $("opt-status")); }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("upload-error", "");
    if (!file.files.length) { showError("upload-error", "Choose a file first."); return; }
    const fd = new FormData(form);
    const button = $("check-button");
    button.disabled = true;
    button.textContent = "Checking…";
    try {
      const run = await api("POST", "/api/v1/runs", fd);
      form.reset();
      $("drop-text").textContent = "Drop the file here, or choose a file";
      openRun(run.id, run);
      const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
      $("run").scrollIntoView({ behavior: still ? "auto" : "smooth", block: "start" });
      loadRuns();
    } catch (e) {
      showError("upload-error", e.message);
    } finally {
      button.disabled = false;
      button.textContent = "Check the file";
    }
  });
}

// ---- one run ----

function openRun(id, run) {
  if (location.hash !== "#run/" + id) history.replaceState(null, "", "#run/" + id);
  failedCode = ""; failedOffset = 0;
  if (run) showRun(run);
  else api("GET", "/api/v1/runs/" + encodeURIComponent(id)).then(showRun, (e) => {
    $("run").hidden = false;
    $("run-title").textContent = "Run " + id;
    showError("run-error", e.message);
  });
}

// refreshQuota shows the day's requests again, at most every few seconds
// while a run goes: the page was drawn with the figure of its load.
let quotaAt = 0;
function refreshQuota(now) {
  if (!now && Date.now() - quotaAt < 5000) return;
  quotaAt = Date.now();
  api("GET", "/api/v1/me").then((me) => {
    const b = document.querySelector("#quota b");
    if (b && me) b.textContent = n(me.sentToday);
  }, () => { /* the next event tries again */ });
}

function follow(run) {
  const live = run.status === "queued" || run.status === "running";
  if (live && (!stream || stream.runId !== run.id)) {
    if (stream) stream.close();
    stream = new EventSource("/api/v1/runs/" + encodeURIComponent(run.id) + "/events");
    stream.runId = run.id;
    stream.addEventListener("run", (ev) => {
      const r = JSON.parse(ev.data);
      if (current && current.id === r.id) showRun(r);
      refreshQuota(false);
    });
  } else if (!live && stream) {
    stream.close();
    stream = null;
    loadRuns();
    refreshQuota(true);
  }
}

function statusText(run) {
  if (run.status === "finished" && run.kind === "undo" && run.exitCode === 3) return "finished, Gong kept some";
  if (run.status === "finished" && run.kind !== "enroll" && run.exitCode === 4) return "finished, not all done";
  switch (run.status) {
    case "checked": return "checked, not started";
    case "queued": return run.queuePosition > 1 ? "queued: " + (run.queuePosition - 1) + " run(s) before it" : "queued: next";
    case "running": return run.stoppedBy ? "stopping…" : "running";
    case "stopped": return "stopped";
    case "finished": return run.exitCode === 0 ? "finished" : run.exitCode === 3 ? "finished, some rows failed" : run.exitCode === 4 ? "finished, some rows not sent" : "ended with an error";
  }
  return run.status;
}

function showRun(run) {
  const prev = current;
  current = run;
  $("run").hidden = false;
  $("run-title").textContent = title(run);
  const st = $("run-status");
  st.textContent = statusText(run);
  st.className = "status s-" + (run.status === "running" && run.stoppedBy ? "stopping" : run.status) + (run.exitCode ? " e" + run.exitCode : "");
  const meta = run.of ? [] : ["Uploaded by " + run.createdBy + ", " + when(run.createdAt)];
  if (run.startedBy) meta.push("started by " + run.startedBy + (run.startedAt ? ", " + when(run.startedAt) : ""));
  if (run.stoppedBy) meta.push("stopped by " + run.stoppedBy);
  if (run.retryOf) meta.push("a retry of run " + run.retryOf);
  if (run.unassignedBy) meta.push("removed in Gong by " + run.unassignedBy);
  if (run.of) $("run-meta").replaceChildren(capital(meta.join("; ")) + "; " + (run.kind === "undo" ? "undoes" : "verifies") + " run ", el("a", { href: "#run/" + run.of }, run.of), ".");
  else $("run-meta").textContent = meta.join("; ") + ".";
  // What became of the run later: retried, undone.
  const story = [];
  for (const id of run.retriedAs || []) story.push(["Retried as run ", id, ""]);
  const u = run.undoneBy;
  if (u) story.push([(u.complete ? "Undone" : "Partly undone") + " by ", u.run, ", " + u.by + ", " + when(u.at)]);
  const later = $("run-story") || el("p", { id: "run-story", class: "meta" });
  later.replaceChildren(...story.flatMap(([a, id, b], i) => [i ? "; " : "", a, el("a", { href: "#run/" + id }, "run " + id), b]), story.length ? "." : "");
  later.hidden = !story.length;
  if (!$("run-story")) $("run-meta").after(later);
  showError("run-error", run.error ? "The run could not go on: " + run.error : "");
  // A running run redraws only its progress, so that the page does not jump.
  if (prev && prev.id === run.id && prev.status === run.status && prev.stoppedBy === run.stoppedBy && run.status === "running" && $("live")) {
    fillProgress(run);
  } else {
    const body = $("run-body");
    body.replaceChildren(...renderRun(run));
    if (run.status === "finished" || run.status === "stopped") loadFailed();
  }
  follow(run);
}

// title names a run by its file; an undo or a verify by its run's.
function title(run) {
  if (run.kind === "undo") return "Undo of " + run.file;
  if (run.kind === "verify") return "Verify of " + run.file;
  return run.file;
}

function renderRun(run) {
  if (run.kind === "undo" || run.kind === "verify") return renderReconcile(run);
  return kids(overrideText(run), renderEnroll(run));
}

function renderEnroll(run) {
  switch (run.status) {
    case "checked": return renderCheck(run);
    case "queued": return [planLine(run.plan), el("p", {}, "Waiting for its turn: runs go one at a time, so that together they stay within Gong's limits."), actions(run)];
    case "running": return [planLine(run.plan), renderProgress(), actions(run)];
    default: return renderResults(run);
  }
}

function planLine(plan) {
  if (!plan) return null;
  return el("p", { class: "meta" }, rowsOf(plan.rows) + " read, " + n(plan.validRows) + " to send in " + n(plan.requests) + " requests.");
}

function figures(items) {
  return el("div", { class: "figures" }, items.map(([label, value, cls]) =>
    el("div", { class: "figure " + (cls || "") }, el("span", { class: "value" }, n(value)), el("span", { class: "label" }, label))));
}

function estimateText(e) {
  if (!e) return "";
  let s = "At Gong's limit of " + e.ratePerSecond + " requests a second, sending takes about " + duration(e.seconds) + ".";
  if (e.days > 1) s += " Gong allows " + n(e.dailyQuota) + " requests a day: " + n(e.requestsToday) + " go today, and the run needs " + e.days + " days in all (it stops when the day's quota is spent; start it again the next day and it continues).";
  else s += " That is within one day's quota of " + n(e.dailyQuota) + " requests.";
  return s;
}

function renderCheck(run) {
  const p = run.plan || {};
  const out = [];
  if (p.columns) {
    out.push(renderMapping(run, p.columns));
    const needed = (p.columns.missing || []).some((c) => oneForAll.includes(c));
    if (needed) out.push(renderDefaults(run, true));
    return out;
  }
  out.push(figures([["rows read", p.rows], ["ready to send", p.validRows, "ok"], ["will not be sent", p.rejectedRows, p.rejectedRows ? "bad" : ""], ["requests", p.requests]]));
  out.push(el("p", {}, estimateText(p.estimate)));
  if (p.people) out.push(...peopleText(p));
  if (p.note) out.push(el("p", { class: "note" }, "Note: " + p.note));
  for (const w of p.warnings || []) out.push(el("p", { class: "warning", role: "alert" }, "Check the columns: " + w));
  out.push(renderDefaults(run, false));
  out.push(renderRejected(run, p));
  if (p.groups && p.groups.length) {
    out.push(el("details", { class: "groups" }, el("summary", {}, "Requests by flow and owner (" + p.groups.length + ")"),
      el("table", { id: "plan-groups" }, el("thead", {}, el("tr", {}, el("th", {}, "Flow"), el("th", {}, "Owner"), el("th", { class: "num" }, "Rows"), el("th", { class: "num" }, "Requests"))),
        el("tbody", {}, p.groups.map((g) => el("tr", {}, el("td", { "data-flow": g.flowId }, flowLabel(g.flowId)), el("td", {}, g.owner + (g.bulk ? " (people without a CRM ID, bulk)" : "")), el("td", { class: "num" }, n(g.rows)), el("td", { class: "num" }, n(g.requests))))))));
    // The flows' names come from the owners' lists (kept by the server).
    [...new Set(p.groups.map((g) => g.owner))].slice(0, 5).forEach((o) => listFlows(o).catch(() => {}));
  }
  out.push(actions(run));
  return out;
}

// peopleText says how many rows go each way when some have no CRM ID, what
// their bulk assignments cost, and what Gong may create for them.
function peopleText(p) {
  const byID = p.validRows - p.people;
  return [el("p", { id: "plan-people" }, (byID ? n(byID) + (byID === 1 ? " row" : " rows") + " by CRM ID go through assign; " : "") +
      n(p.people) + (p.people === 1 ? " person" : " people") + " without a CRM ID go through " + n(p.bulkSubmits) + " bulk " +
      (p.bulkSubmits === 1 ? "assignment" : "assignments") + " of up to 50, each about " + (1 + (p.bulkReadsEach || 0)) +
      " requests (one to send, " + (p.bulkReadsEach || 0) + " to read the results): " + n(p.bulkSubmits * (1 + (p.bulkReadsEach || 0))) + " of the requests above."),
    el("p", { id: "people-warning", class: "warning", role: "alert" }, "Gong creates a CRM record for each person it does not find by email. Undo removes the flow instances this run creates, not those CRM records.")];
}

function renderRejected(run, p) {
  const codes = Object.entries(p.rejectedByCode || {}).sort((a, b) => b[1].rows - a[1].rows);
  if (!codes.length) return el("p", { class: "ok-line" }, "Every row is fine.");
  const box = el("div", { id: "rejected" }, el("h3", {}, "Rows that will not be sent, by reason"),
    el("p", {}, "Fix them here: each fix is kept beside your file (which stays as it was) and the file is checked again at once. Or start anyway: the other rows go through, and these are listed in failed.csv. ",
      el("a", { href: fileURL(run, "failed.csv"), download: "" }, "Download these rows (failed.csv)")));
  if (run.fixes) box.append(el("p", { class: "hint", id: "fixes-made" }, n(run.fixes) + (run.fixes === 1 ? " fix" : " fixes") + " made in the page so far."));
  for (const [code, r] of codes) {
    box.append(el("details", { class: "reason", open: codes.length <= 6 || box.childElementCount < 5 },
      el("summary", {}, el("b", {}, code), " — " + n(r.rows) + (r.rows === 1 ? " row" : " rows")),
      r.fix ? el("p", { class: "fix" }, "What to do: " + r.fix) : null,
      (r.fixes || []).filter((g) => g.column !== "crmProspectId").map((g, i) => groupFix(run, code, g, i)),
      rowsTable(r.first || [], false, run),
      r.rows > (r.first || []).length ? el("p", { class: "hint" }, "The first " + (r.first || []).length + " are shown.") : null));
  }
  return box;
}

// sendFix sends one fix and shows the run checked again.
async function sendFix(run, body, button) {
  showError("run-error", "");
  if (button) button.disabled = true;
  try {
    const r = await api("POST", "/api/v1/runs/" + encodeURIComponent(run.id) + "/fix", JSON.stringify(body));
    showRun(r);
    loadRuns();
  } catch (e) { showError("run-error", e.message); if (button) button.disabled = false; }
}

const fixWords = { flowId: "flow", flowInstanceOwnerEmail: "owner", crmProspectId: "CRM ID" };

// groupFix offers one fix for every row of a reason with one value: the
// flow the check suggests, or a flow or an owner picked from Gong's lists.
function groupFix(run, code, g, i) {
  const rows = n(g.rows) + (g.rows === 1 ? " row" : " rows");
  const what = g.value ? "the " + rows + " with “" + g.value + "”" : "the " + rows + " without " + (g.column === "flowId" ? "a flow" : "an owner");
  const set = (v) => ({ set: { [g.column]: v }, code, from: g.value });
  const id = "fix-" + code + "-" + i;
  const line = el("div", { class: "group-fix", id });
  if (g.suggest) {
    line.append(el("button", { type: "button", class: "primary", id: id + "-suggest", onclick: (ev) => sendFix(run, set(g.suggest.id), ev.target) },
      "Use " + g.suggest.name + " for " + (g.rows === 1 ? "this row" : "these " + n(g.rows) + " rows")), " ");
  }
  const sel = el("select", { id: id + "-pick", "aria-label": "The " + fixWords[g.column] + " for " + what }, el("option", { value: "" }, "Loading Gong's " + (g.column === "flowId" ? "flows" : "users") + "…"));
  const use = el("button", { type: "button", id: id + "-use", disabled: true, onclick: (ev) => { if (sel.value) sendFix(run, set(sel.value), ev.target); } }, "Use");
  sel.addEventListener("change", () => { use.disabled = !sel.value; if (sel.value) sendFix(run, set(sel.value), use); });
  const pick = el("span", { class: "pick" }, (g.suggest ? "or choose " : "Choose ") + (g.column === "flowId" ? "a flow" : "an owner") + " for " + what + ": ", sel, " ", use);
  line.append(pick);
  const fill = g.column === "flowId"
    ? (g.owner || (run.options || {}).owner ? listFlows(g.owner || run.options.owner).then((fs) => fs.map((f) => el("option", { value: f.id }, f.name + " (" + f.folder + ")"))) : Promise.reject(new Error("no owner")))
    : listUsers().then((us) => us.map((u) => el("option", { value: u.email }, u.name ? u.name + " <" + u.email + ">" : u.email)));
  fill.then((opts) => sel.replaceChildren(el("option", { value: "" }, "— choose —"), ...opts), () => {
    // No list: the flow's ID or name, or the owner's email or name, typed.
    const input = el("input", { id: id + "-text", placeholder: g.column === "flowId" ? "flow ID or name" : "email or name" });
    use.disabled = false;
    use.onclick = (ev) => { if (input.value.trim()) sendFix(run, set(input.value.trim()), ev.target); };
    sel.replaceWith(input);
  });
  return line;
}

function rowsTable(rows, withCode, run) {
  const editable = run && run.status === "checked";
  return el("div", { class: "scroll" }, el("table", { class: "rows" + (editable ? " editable" : "") },
    el("thead", {}, el("tr", {}, el("th", { class: "num c-line" }, "Line"), el("th", { class: "c-id" }, "CRM ID"), el("th", { class: "c-flow" }, "Flow"),
      el("th", { class: "c-owner" }, "Owner"), withCode ? el("th", { class: "c-code" }, "Reason") : null, el("th", { class: "c-msg" }, "Message"), editable ? el("th", { class: "c-save" }, "") : null)),
    el("tbody", {}, rows.map((r) => rowLine(r, withCode, editable ? run : null)))));
}

// rowLine is one rejected row; before the start, its CRM ID, flow and
// owner are fields a person corrects in place.
function rowLine(r, withCode, run) {
  const flow = r.flowId || r.flowName || "";
  if (!run || !r.fixColumn) {
    return el("tr", {}, el("td", { class: "num" }, r.line), el("td", {}, r.crmProspectId), el("td", {}, flow ? flowLabel(flow) : ""), el("td", {}, r.owner),
      withCode ? el("td", { class: "code" }, r.code) : null, el("td", { class: "msg" }, shortMessage(r.message)), run ? el("td", {}) : null);
  }
  const field = (col, value) => el("input", { value, "data-col": col, "data-was": value, id: "row-" + r.line + "-" + col, "aria-label": fixWords[col] + " of line " + r.line, class: r.fixColumn === col ? "at-fault" : "" });
  const cells = [field("crmProspectId", r.crmProspectId), field("flowId", flow), field("flowInstanceOwnerEmail", r.owner)];
  const save = el("button", { type: "button", id: "row-" + r.line + "-save", onclick: async (ev) => {
    for (const c of cells) {
      const v = c.value.trim();
      if (v && v !== c.dataset.was) await sendFix(run, { set: { [c.dataset.col]: v }, lines: [r.line] }, ev.target);
    }
  } }, "Save");
  return el("tr", {}, el("td", { class: "num" }, r.line), cells.map((c) => el("td", {}, c)),
    withCode ? el("td", { class: "code" }, r.code) : null, el("td", { class: "msg" }, shortMessage(r.message)), el("td", {}, save));
}

// shortMessage leaves out the "file:line: " a message starts with: the table
// shows the line in its own column.
function shortMessage(m) { return (m || "").replace(/^.*?:\d+: /, ""); }

function renderMapping(run, cols) {
  const form = el("form", { id: "mapping" });
  form.append(el("h3", {}, "Which column is which?"),
    el("p", {}, "The file's columns were not all recognised. Pick the column that holds each of these, and the file is checked again."));
  const map = Object.assign({}, (run.options && run.options.map) || {});
  const ask = (canonical, headers, why) => {
    const id = "map-" + canonical;
    // The flow and the owner may come from the pickers instead.
    const select = el("select", { id, name: canonical, required: !oneForAll.includes(canonical) },
      el("option", { value: "" }, "— choose a column —"), headers.map((h) => el("option", { value: h }, h)));
    form.append(el("p", { class: "map-row" }, el("label", { for: id }, why + " ", el("b", {}, columnNames[canonical] || canonical), " (" + canonical + ")"), " ", select));
  };
  (cols.missing || []).forEach((c) => ask(c, cols.found || [], "Which column holds"));
  Object.entries(cols.ambiguous || {}).forEach(([c, hs]) => ask(c, hs, "Several columns could be"));
  Object.entries(cols.notFound || {}).forEach(([c, h]) => { delete map[c]; ask(c, cols.found || [], "There is no column \"" + h + "\"; which column holds"); });
  form.append(el("p", { class: "hint" }, "Columns in the file: " + (cols.found || []).join(", ")));
  form.append(el("button", { type: "submit", id: "map-button" }, "Use these columns and check again"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const s of form.querySelectorAll("select")) if (s.value) map[s.name] = s.value;
    recheck(run, { map });
  });
  return form;
}

// recheck checks the run again with its options and these changes.
async function recheck(run, changes) {
  showError("run-error", "");
  const o = Object.assign({}, run.options || {}, changes);
  const fd = new FormData();
  const map = Object.entries(o.map || {});
  if (map.length) fd.append("map", map.map(([k, v]) => k + "=" + v).join("\n"));
  for (const k of ["encoding", "delimiter", "crm", "sheet", "headerRow", "flow", "owner"]) if (o[k]) fd.append(k, o[k]);
  try {
    showRun(await api("POST", "/api/v1/runs/" + encodeURIComponent(run.id) + "/check", fd));
    loadRuns();
  } catch (e) { showError("run-error", e.message); }
}

// ---- one flow and one owner for rows without them ----

// The columns a whole file may go without: the pickers give one value.
const oneForAll = ["flowId", "flowInstanceOwnerEmail"];

// Gong's lists, asked once per page (the server keeps them a while too),
// and the names they give, to show a chosen ID or email by its name.
const gongLists = { users: null, flows: {} };
const names = { owner: {}, flow: {} };

function listUsers() {
  if (!gongLists.users) {
    gongLists.users = api("GET", "/api/v1/users").then((d) => {
      for (const u of d.users) names.owner[u.email.toLowerCase()] = u.name;
      showChosen();
      return d.users;
    }, (e) => { gongLists.users = null; throw e; });
  }
  return gongLists.users;
}

function listFlows(owner) {
  const key = owner.toLowerCase();
  if (!gongLists.flows[key]) {
    gongLists.flows[key] = api("GET", "/api/v1/flows?" + new URLSearchParams({ owner })).then((d) => {
      for (const f of d.flows) names.flow[f.id] = f.name;
      showChosen();
      return d.flows;
    }, (e) => { delete gongLists.flows[key]; throw e; });
  }
  return gongLists.flows[key];
}

function ownerLabel(email) {
  const name = names.owner[email.toLowerCase()];
  return name ? name + " <" + email + ">" : email;
}

function flowLabel(id) {
  const name = names.flow[id];
  return name ? name + " (" + id + ")" : id;
}

// showChosen names the chosen flow and owner in the check, once known.
function showChosen() {
  const o = (current && current.options) || {};
  document.querySelectorAll("[data-flow]").forEach((td) => { td.textContent = flowLabel(td.dataset.flow); });
  if ($("default-flow") && o.flow) $("default-flow").lastChild.textContent = flowLabel(o.flow);
  if ($("default-owner") && o.owner) $("default-owner").lastChild.textContent = ownerLabel(o.owner);
}

// kids flattens children for replaceChildren, which takes no arrays.
function kids(...c) { return c.flat(2).filter((x) => x !== null && x !== undefined && x !== false); }

// fillPickers fills an owner and a flow select from Gong's lists, choosing
// owner and flow; the flows are those of the owner chosen.
async function fillPickers(ownerSel, flowSel, owner, flow, status) {
  ownerSel.addEventListener("change", () => fillFlows(flowSel, ownerSel.value, "", status));
  status.textContent = "Loading Gong's users…";
  status.className = "hint";
  try {
    const users = await listUsers();
    const known = users.some((u) => u.email.toLowerCase() === (owner || "").toLowerCase());
    ownerSel.replaceChildren(...kids(el("option", { value: "" }, "— from the file —"),
      users.map((u) => el("option", { value: u.email, selected: known && u.email.toLowerCase() === owner.toLowerCase() }, u.name ? u.name + " <" + u.email + ">" : u.email)),
      owner && !known ? el("option", { value: owner, selected: true }, owner) : null));
    status.textContent = "";
  } catch (e) {
    status.textContent = e.message;
    status.className = "error";
    return;
  }
  await fillFlows(flowSel, ownerSel.value, flow, status);
}

async function fillFlows(sel, owner, flow, status) {
  const keep = flow ? el("option", { value: flow, selected: true }, flowLabel(flow)) : null;
  if (!owner) {
    sel.replaceChildren(...kids(el("option", { value: "" }, "— from the file (choose an owner to see their flows) —"), keep));
    return;
  }
  sel.disabled = true;
  sel.replaceChildren(el("option", { value: "" }, "Loading the flows of " + owner + "…"));
  status.textContent = "";
  let flows;
  try { flows = await listFlows(owner); } catch (e) {
    sel.replaceChildren(...kids(el("option", { value: "" }, "— from the file —"), keep));
    sel.disabled = false;
    status.textContent = e.message;
    status.className = "error";
    return;
  }
  const folders = {};
  for (const f of flows) (folders[f.folder || "No folder"] ||= []).push(f);
  const known = flows.some((f) => f.id === flow);
  sel.replaceChildren(...kids(el("option", { value: "" }, "— from the file —"),
    Object.entries(folders).map(([folder, fs]) => el("optgroup", { label: folder },
      fs.map((f) => el("option", { value: f.id, selected: f.id === flow }, f.name + " (" + f.visibility.toLowerCase() + ", " + f.id + ")")))),
    known ? null : keep));
  sel.disabled = false;
}

// renderDefaults shows the flow and owner chosen for rows without one, and
// pickers to choose them; open when the file lacks one of the columns.
function renderDefaults(run, needed) {
  const o = run.options || {};
  const box = el("div", { id: "defaults" });
  if (o.flow) box.append(el("p", { id: "default-flow", class: "chosen" }, "Every row without a flow goes to: ", el("b", {}, flowLabel(o.flow))));
  if (o.owner) box.append(el("p", { id: "default-owner", class: "chosen" }, "Every row without an owner goes to: ", el("b", {}, ownerLabel(o.owner))));
  const owner = el("select", { id: "pick-owner" }, el("option", { value: o.owner || "" }, o.owner ? ownerLabel(o.owner) : "— from the file —"));
  const flow = el("select", { id: "pick-flow" }, el("option", { value: o.flow || "" }, o.flow ? flowLabel(o.flow) : "— from the file —"));
  const status = el("p", { id: "pick-status", class: "hint" });
  const form = el("form", { id: "defaults-form" },
    el("p", {}, needed ? "Or send every row to one flow and one owner, chosen from Gong:" : "Rows whose flow or owner cell is blank (or a file without the column) take these:"),
    el("p", { class: "map-row" }, el("label", { for: "pick-owner" }, "Owner"), owner),
    el("p", { class: "map-row" }, el("label", { for: "pick-flow" }, "Flow"), flow),
    status,
    el("button", { type: "submit", id: "defaults-button" }, "Use these and check again"));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); recheck(run, { owner: owner.value, flow: flow.value }); });
  const details = el("details", { class: "defaults", open: needed }, el("summary", {}, needed ? "One flow and one owner for the whole file" : "Change the flow or owner for rows without one"), form);
  let filled = false;
  const fill = () => { if (!filled) { filled = true; fillPickers(owner, flow, o.owner || "", o.flow || "", status); } };
  details.addEventListener("toggle", () => { if (details.open) fill(); });
  if (needed) fill();
  box.append(details);
  return box;
}

function renderProgress() {
  return el("div", { id: "live" },
    el("progress", { id: "bar", max: 1, value: 0 }),
    el("p", { id: "live-text", class: "live" }, "Starting…"));
}

function fillProgress(run) {
  const l = run.progress;
  if (!l || !$("bar")) return;
  $("bar").max = Math.max(l.total, 1);
  $("bar").value = l.settled;
  $("live-text").textContent = n(l.settled) + " of " + n(l.total) + " rows done, " + n(l.left) + " left; " +
    n(l.requests) + " requests sent" + (l.left > 0 ? "; about " + duration(l.etaSeconds) + " to go." : ".");
}

function fileURL(run, name) { return "/api/v1/runs/" + encodeURIComponent(run.id) + "/files/" + name; }

function actions(run) {
  const box = el("p", { class: "actions" });
  const act = (label, path, cls, id, body) => el("button", { type: "button", class: cls, id, onclick: async (ev) => {
    ev.target.disabled = true;
    showError("run-error", "");
    try {
      const r = await api("POST", "/api/v1/runs/" + encodeURIComponent(run.id) + "/" + path, body ? body() : undefined);
      if (r.id !== run.id) openRun(r.id, r); else showRun(r);
      loadRuns();
    } catch (e) { showError("run-error", e.message); ev.target.disabled = false; }
  } }, label);
  const p = run.plan || {};
  let pre = null; // the choices that go with the start
  if (run.filesDeletedAt) {
    box.append(el("span", { id: "files-deleted" }, "The upload and result files were deleted on " + new Date(run.filesDeletedAt).toLocaleDateString() +
      (run.filesDeletedBy === "--keep" ? " (kept for the console's --keep period)" : " by " + run.filesDeletedBy) + "; the summary stays."));
    return el("div", {}, box);
  }
  if (run.status === "checked") {
    const b = act("Start: send " + rowsOf(p.validRows) + " to Gong", "start", "primary", "start-button",
      () => $("override-cool-off") && $("override-cool-off").checked ? JSON.stringify({ overrideCoolOff: true }) : undefined);
    if (!p.validRows || p.columns) b.disabled = true;
    box.append(b);
    // The override is an assign's: people without a CRM ID go through
    // bulk assignments, which have none.
    if (!b.disabled && p.validRows > (p.people || 0)) pre = coolOffBox();
  }
  if (run.status === "queued" || (run.status === "running" && !run.stoppedBy)) box.append(act("Stop", "stop", "danger", "stop-button"));
  if (run.status === "running" && run.stoppedBy) box.append(el("span", { id: "stopping", class: "hint" }, "Stopping: the requests in flight finish first (a few seconds)."));
  const resumable = run.status === "stopped" || (run.status === "finished" && (run.exitCode === 4 || run.exitCode === 1));
  if (resumable) box.append(act("Continue this run", "start", "primary", "resume-button"));
  if (run.kind === "enroll" && (run.status === "finished" || run.status === "stopped")) {
    const s = run.summary || {};
    if ((s.failed || 0) + (s.unprocessed || 0) > 0) box.append(act("Retry failed and unprocessed rows", "retry", "", "retry-button"));
    box.append(act("Verify: read every assigned row back", "verify", "", "verify-button"));
    box.append(el("button", { type: "button", class: "danger", id: "undo-button", onclick: (ev) => askUndo(run, ev.target) }, "Undo this run"));
  }
  if (run.status !== "queued" && run.status !== "running") {
    box.append(el("button", { type: "button", class: "danger", id: "delete-button", onclick: async (ev) => {
      if (!confirm("Delete this run's upload and result files? Its summary stays in the history; it cannot be continued, retried or undone from here after.")) return;
      ev.target.disabled = true;
      showError("run-error", "");
      try { showRun(await api("DELETE", "/api/v1/runs/" + encodeURIComponent(run.id))); loadRuns(); } catch (e) { showError("run-error", e.message); ev.target.disabled = false; }
    } }, "Delete this run"));
  }
  return el("div", {}, pre, box, el("div", { id: "undo-confirm", hidden: true }));
}

// coolOffBox is the cool-off override, a choice made at the start: the
// server records who ticked it, and a resumption keeps it.
function coolOffBox() {
  return el("p", { class: "choice" }, el("label", {}, el("input", { type: "checkbox", id: "override-cool-off" }), " Override the flow's cool-off period"),
    el("br", {}), el("span", { class: "hint", id: "override-cool-off-warning" }, "Enroll people even if they finished this flow recently (its cool-off period). Gong will not refuse them."));
}

// overrideText says that a run used the cool-off override, and who chose it.
function overrideText(run) {
  const o = run.overrideCoolOff;
  if (!o) return null;
  return el("p", { id: "run-override", class: "note" }, "This run " + (run.status === "finished" || run.status === "stopped" ? "used" : "uses") +
    " the cool-off override, ticked by " + o.by + ", " + when(o.at) + ": people who finished its flow recently are enrolled regardless.");
}

// askUndo asks Gong nothing: the server counts the instances an undo would
// remove, and the page asks the person to confirm.
async function askUndo(run, button) {
  showError("run-error", "");
  button.disabled = true;
  let p;
  try { p = await api("POST", "/api/v1/runs/" + encodeURIComponent(run.id) + "/undo"); } catch (e) { showError("run-error", e.message); button.disabled = false; return; }
  const box = $("undo-confirm");
  const cancel = el("button", { type: "button", id: "undo-cancel", onclick: () => { box.hidden = true; button.disabled = false; } }, "Cancel");
  if (!p.instances) {
    box.replaceChildren(el("p", {}, "Nothing to undo: the run created no flow instance, or an undo removed them already."), cancel);
  } else {
    const who = p.by === "the console" ? "by the console (your sign-in is not an email address, so Gong is not told who)" : "by " + p.by;
    const yes = el("button", { type: "button", class: "danger", id: "undo-yes", onclick: async () => {
      yes.disabled = true;
      const fd = new FormData();
      fd.append("confirm", "true");
      try {
        const r = await api("POST", "/api/v1/runs/" + encodeURIComponent(run.id) + "/undo", fd);
        openRun(r.id, r);
        loadRuns();
      } catch (e) { showError("run-error", e.message); yes.disabled = false; }
    } }, "Remove " + n(p.instances) + " flow instances");
    box.replaceChildren(el("h3", {}, "Undo this run?"),
      el("p", { id: "undo-question" }, "This removes from Gong the " + n(p.instances) + " flow " + (p.instances === 1 ? "instance" : "instances") + " this run created, and no other, " + who + ". Prospects in the middle of a flow leave it; this cannot be taken back."),
      el("p", { class: "actions" }, yes, " ", cancel));
  }
  box.hidden = false;
  box.className = "confirm";
}

const reconcileFiles = {
  undo: [["undone.csv", "flow instances removed"], ["undo-failed.csv", "flow instances Gong kept, with the reason"], ["summary.json", "the counts"]],
  verify: [["verify.csv", "every assigned row, and what Gong holds for it now"], ["summary.json", "the counts"]],
};

// renderReconcile shows an undo or a verify: waiting, working, or its counts.
function renderReconcile(run) {
  const undo = run.kind === "undo";
  if (run.status === "queued") return [el("p", {}, "Waiting for its turn: runs go one at a time, so that together they stay within Gong's limits."), actions(run)];
  if (run.status === "running") return [el("p", { class: "live", id: "reconcile-live" }, undo ? "Removing the flow instances the run created…" : "Reading every assigned row back from Gong…"), actions(run)];
  const s = run.summary || {};
  const out = [];
  if (run.outcome) out.push(el("p", { class: "outcome" }, capital(run.outcome) + "."));
  if (undo) {
    out.push(figures([["flow instances", s.instances], ["removed", s.removed, "ok"], ["kept by Gong", s.kept, s.kept ? "bad" : ""], ["not removed yet", s.pending, s.pending ? "warn" : ""], ["requests", s.requestsThisRun]]));
  } else {
    const b = s.byState || {};
    out.push(figures([["rows read back", s.rows], ["open", b["open"], "ok"], ["no longer open", b["no-longer-open"]], ["open in another flow", b["open-in-another-flow"], b["open-in-another-flow"] ? "warn" : ""],
      ["open as another instance", b["open-as-another-instance"], b["open-as-another-instance"] ? "warn" : ""], ["not read back", b["unknown"], b["unknown"] ? "warn" : ""]]));
  }
  out.push(el("div", { class: "downloads" }, el("h3", {}, "Download the results"),
    el("ul", {}, reconcileFiles[run.kind].map(([f, what]) => el("li", {}, el("a", { href: fileURL(run, f), download: "", id: "dl-" + f.replace(".", "-") }, f), " — " + what)))));
  out.push(actions(run));
  return out;
}

// outcomeText is a run's counts in the runs list.
function outcomeText(r) {
  const s = r.summary;
  if (r.kind === "undo") return s ? n(s.removed) + " of " + n(s.instances) + " removed, " + n(s.kept) + " kept" : "";
  if (r.kind === "verify") return s ? n(s.rows) + " read back, " + n((s.byState || {})["open"]) + " open" : "";
  if (s) return n(s.assigned) + " assigned, " + n(s.failed) + " failed, " + n(s.unprocessed) + " not sent" + (r.overrideCoolOff ? " (cool-off override)" : "");
  return r.plan ? (r.plan.columns ? "columns to choose" : rowsOf(r.plan.validRows) + " to send") : "";
}

function renderResults(run) {
  const s = run.summary || {};
  const out = [];
  if (run.outcome) out.push(el("p", { class: "outcome" }, capital(run.outcome) + "."));
  out.push(figures([["rows read", s.rowsRead], ["assigned", s.assigned, "ok"], ["failed", s.failed, s.failed ? "bad" : ""], ["not sent yet", s.unprocessed, s.unprocessed ? "warn" : ""], ["requests", s.requests]]));
  const reasons = Object.entries(s.unprocessedByReason || {});
  if (reasons.length) out.push(el("p", {}, "Not sent yet: " + reasons.map(([r, k]) => r + " " + n(k)).join(", ") + ". Continue the run to send them, or retry them as a new run."));
  out.push(el("div", { class: "downloads" }, el("h3", {}, "Download the results"),
    el("ul", {}, [["assigned.csv", "rows assigned, with the flow instance IDs"], ["failed.csv", "rows that failed, with the reason"], ["unprocessed.csv", "rows not sent yet"], ["results.xlsx", "all three as one Excel workbook"], ["summary.json", "the counts"]]
      .map(([f, what]) => el("li", {}, el("a", { href: fileURL(run, f), download: "", id: "dl-" + f.replace(".", "-") }, f), " — " + what)))));
  if (s.failed) out.push(el("div", { id: "failed" }, el("h3", {}, "Failed rows, by reason"), el("div", { id: "failed-body" }, "Loading…")));
  out.push(actions(run));
  return out;
}

function capital(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

async function loadFailed() {
  const run = current;
  if (!run || !$("failed-body")) return;
  const q = new URLSearchParams({ code: failedCode, offset: failedOffset, limit: pageSize });
  let page;
  try { page = await api("GET", "/api/v1/runs/" + encodeURIComponent(run.id) + "/rows?" + q); } catch (e) { $("failed-body").textContent = e.message; return; }
  if (current !== run) return;
  const select = el("select", { id: "failed-code", onchange: (ev) => { failedCode = ev.target.value; failedOffset = 0; loadFailed(); } },
    el("option", { value: "" }, "every reason"),
    Object.entries(page.byCode).sort((a, b) => b[1] - a[1]).map(([c, k]) => el("option", { value: c, selected: c === failedCode }, c + " (" + n(k) + ")")));
  const fix = failedCode ? (page.fixes || {})[failedCode] || "" : "";
  const nav = el("p", { class: "pager" },
    el("button", { type: "button", disabled: failedOffset === 0, onclick: () => { failedOffset = Math.max(0, failedOffset - pageSize); loadFailed(); } }, "Previous"),
    " rows " + n(Math.min(failedOffset + 1, page.total)) + "–" + n(Math.min(failedOffset + pageSize, page.total)) + " of " + n(page.total) + " ",
    el("button", { type: "button", disabled: failedOffset + pageSize >= page.total, onclick: () => { failedOffset += pageSize; loadFailed(); } }, "Next"));
  $("failed-body").replaceChildren(el("label", {}, "Show ", select), fix ? el("p", { class: "fix" }, "What to do: " + fix) : "", rowsTable(page.rows, true), nav);
}

// ---- the runs list ----

async function loadRuns() {
  let data;
  try { data = await api("GET", "/api/v1/runs"); } catch (e) { return; }
  const body = $("runs").tBodies[0];
  body.replaceChildren(...data.runs.map((r) => el("tr", { class: current && current.id === r.id ? "current" : "" },
    el("td", {}, el("a", { href: "#run/" + r.id }, when(r.createdAt))),
    el("td", {}, title(r)),
    el("td", {}, r.createdBy),
    el("td", {}, r.startedBy || ""),
    el("td", {}, statusText(r)),
    el("td", {}, outcomeText(r)))));
  $("no-runs").hidden = data.runs.length > 0;
}

function route() {
  const m = location.hash.match(/^#run\/([0-9a-f-]+)$/);
  if (m && (!current || current.id !== m[1])) openRun(m[1]);
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  window.addEventListener("hashchange", () => { route(); loadRuns(); });
  route();
  loadRuns();
  document.body.dataset.ready = "true"; // the page's handlers are in place
});
