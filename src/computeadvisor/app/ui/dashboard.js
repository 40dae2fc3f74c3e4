// The computeadvisor dashboard (§12): a client of the public API only. One EventSource on /api/events keeps it live
// and resumes from the last event id after a reconnect; without events it polls state and board every 5 s.
"use strict";

(() => {
  const TOKEN_KEY = "computeadvisor.token";
  const POLL_MS = 5000;
  const REFRESH_MS = 150;
  const ACTIVITY_MAX = 100;
  const LIST_LIMIT = 10;

  const view = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    lastId: null, // the id of the last logged event this page received
    pollTimer: null,
    refreshTimer: null,
    skew: 0, // server clock minus this page's clock, seconds
    board: null,
    jobs: null,
  };

  const $ = (selector) => document.querySelector(selector);
  const serverNow = () => Date.now() / 1000 + view.skew;
  const seconds = (iso) => (iso ? Date.parse(iso) / 1000 : null);

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function duration(s) {
    if (s === null || s === undefined || !Number.isFinite(s)) return "—";
    if (s < 90) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
    if (s < 5400) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }

  function money(value, currency) {
    if (value === null || value === undefined) return "—";
    return `${value === 0 ? "0.00" : value.toFixed(4)} ${currency || ""}`.trim();
  }

  function clock(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  }

  function notice(message, ok = false) {
    const box = $("#notice");
    box.textContent = message;
    box.classList.toggle("ok", ok);
    box.hidden = !message;
  }

  async function api(path, { method = "GET", body, auth = false } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && view.token) headers.Authorization = `Bearer ${view.token}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.detail) || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function failed(what) {
    return (error) => {
      const hint = error.status === 401 ? " — paste the service's token above" : "";
      notice(`${what}: ${error.message}${hint}`);
      if (error.status === 401) $("#token").focus();
    };
  }

  // -- devices and the flag -------------------------------------------------------------------------------------

  function setFeature(feature) {
    if (!feature) return;
    const pill = $("#feature");
    pill.textContent = feature.enabled ? "compute on" : "compute off";
    pill.className = `pill ${feature.enabled ? "on" : "off"}`;
  }

  function meter(ratio, kind) {
    const width = Math.max(0, Math.min(100, ratio * 100));
    return el("div", { class: `meter ${kind}` }, el("span", { style: `width:${width.toFixed(1)}%` }));
  }

  function stat(label, value) {
    return el("div", { class: "stat" }, el("span", { text: label }), el("b", { text: value }));
  }

  function renderDevices(devices) {
    const cards = devices.map((device) => {
      const load = device.load === null || device.load === undefined ? null : device.load;
      const card = el("article", { class: "card", "data-device": device.id },
        el("div", { class: "name", text: device.name }), el("div", { class: "id", text: device.id }),
        meter((load || 0) / 100, "load"), stat("load", load === null ? "—" : `${Math.round(load)} %`));
      if (device.type === "gpu") {
        const total = device.mem_total_mb;
        const used = device.mem_used_mb;
        if (total) card.append(meter((used || 0) / total, "vram"));
        card.append(stat("VRAM", total ? `${((used || 0) / 1024).toFixed(1)} / ${(total / 1024).toFixed(1)} GiB` : "—"));
        card.append(stat("temperature", device.temp_c === null ? "—" : `${device.temp_c} °C`));
        card.append(stat("power", device.power_w === null ? "—" : `${Math.round(device.power_w)} W`));
      }
      return card;
    });
    $("#devices").replaceChildren(...cards);
  }

  async function loadDevices() {
    const data = await api("/api/gpu/list");
    setFeature(data.feature);
    renderDevices(data.devices);
  }

  // -- queues ---------------------------------------------------------------------------------------------------

  function jobCell(job) {
    return el("td", {}, el("span", { class: "job", text: job.id, title: job.name }));
  }

  function statusBadge(status) {
    return el("span", { class: `status ${status}`, text: status });
  }

  function action(label, job, route) {
    return el("button", {
      type: "button", class: "small", text: label, "aria-label": `${label} ${job.id}`,
      onclick: () => api(`/api/schedule/${route}`, { method: "POST", body: { job_id: job.id }, auth: true })
        .then(() => { notice(""); refreshSoon(); })
        .catch(failed(`${label} ${job.id}`)),
    });
  }

  function rows(tbody, items, build, emptyText, columns) {
    // Rebuilt when the data changes; the control that had the focus keeps it (same label, new element).
    const focused = tbody.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
    const built = items.map(build);
    if (!built.length) built.push(el("tr", { class: "empty" }, el("td", { colspan: columns, text: emptyText })));
    tbody.replaceChildren(...built);
    if (focused) {
      const again = [...tbody.querySelectorAll("[aria-label]")].find((node) => node.getAttribute("aria-label") === focused);
      if (again) again.focus();
    }
  }

  function since(iso, cls = "num") {
    // A cell that counts up from ``iso``; tick() keeps it current without rebuilding the row.
    return el("td", { class: cls, "data-since": iso, text: duration(serverNow() - seconds(iso)) });
  }

  function until(iso) {
    return el("td", { class: "num", "data-until": iso || null, text: iso ? `in ${duration(Math.max(0, seconds(iso) - serverNow()))}` : "—" });
  }

  function tick() {
    const now = serverNow();
    for (const cell of document.querySelectorAll("[data-since]")) {
      cell.textContent = duration(now - seconds(cell.dataset.since));
    }
    for (const cell of document.querySelectorAll("[data-until]")) {
      cell.textContent = `in ${duration(Math.max(0, seconds(cell.dataset.until) - now))}`;
    }
    renderBoard();
  }

  function renderJobs() {
    const data = view.jobs;
    if (!data) return;
    const counts = data.counts;
    const count = (value, label) => el("div", { class: "count" }, el("b", { text: String(value) }), el("span", { text: label }));
    // Jobs waiting for their run_at (or a retry's backoff) are counted apart from the due ones (§15.1).
    const later = counts.scheduled ? counts.scheduled.local + counts.scheduled.remote : 0;
    $("#counts").replaceChildren(count(counts.queues.local, "queued local"), count(counts.queues.remote, "queued remote"),
      count(later, "scheduled"), count(counts.active, "running"), count(counts.completed, "finished"));
    rows($("#running tbody"), data.active, (job) => el("tr", { "data-job": job.id }, jobCell(job),
      el("td", { class: "opt", text: job.device_id || "—" }),
      since(job.started_at), until(job.lease_expires_at),
      el("td", { class: "actions" }, action("Requeue", job, "requeue"), " ", action("Cancel", job, "cancel"))),
    "nothing running", 5);
    const queued = [...data.queues.local, ...data.queues.remote];
    rows($("#queued tbody"), queued, (job) => el("tr", { "data-job": job.id }, jobCell(job),
      el("td", { class: "opt", text: job.queue }), el("td", { class: "num opt", text: String(job.priority) }),
      since(job.created_at),
      el("td", { class: "actions" }, action("Cancel", job, "cancel"))),
    "no queued jobs", 5);
    rows($("#finished tbody"), data.completed, (job) => el("tr", { "data-job": job.id }, jobCell(job),
      el("td", {}, statusBadge(job.status)), el("td", { class: "num", text: duration(job.duration_sec) }),
      el("td", { class: "num opt", text: money(job.cost_estimate) }),
      el("td", { class: "actions" }, action("Requeue", job, "requeue"))),
    "nothing finished yet", 5);
  }

  async function loadJobs() {
    const [jobs, board] = await Promise.all([
      api(`/api/schedule/state?limit=${LIST_LIMIT}`), api("/api/schedule/board?limit=50"),
    ]);
    view.skew = seconds(board.generated_at) - Date.now() / 1000;
    view.jobs = jobs;
    view.board = board;
    setFeature(jobs.feature);
    renderJobs();
    renderBoard();
  }

  // -- the board (a Gantt chart) --------------------------------------------------------------------------------

  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs = {}, text = null) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== null) node.textContent = text;
    return node;
  }

  function laneOrder(a, b) {
    const rank = (lane) => (lane === "cpu" ? 0 : lane.startsWith("gpu:") ? 1 : lane.startsWith("remote") ? 2 : 3);
    const index = (lane) => Number((lane.match(/\d+$/) || ["0"])[0]);
    return rank(a) - rank(b) || index(a) - index(b) || a.localeCompare(b);
  }

  function niceStep(span, plotWidth) {
    // At most six ticks, and at least 70 px apart so that their labels never overlap (a phone's board is narrow).
    const steps = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    return steps.find((step) => span / step <= Math.min(6, plotWidth / 70)) || 7200;
  }

  function windowSpan(segments, now) {
    // "fit": from the earliest bar to now, with a margin, between a minute and six hours.
    const chosen = $("#window").value;
    if (chosen !== "auto") return Number(chosen);
    const earliest = Math.min(now, ...segments.map((s) => s.start));
    return Math.min(21600, Math.max(60, (now - earliest) * 1.08));
  }

  function renderBoard() {
    const box = $("#gantt");
    const board = view.board;
    if (!board) return;
    const now = serverNow();
    const span = windowSpan(board.jobs, now);
    const from = now - span;
    const segments = board.jobs.filter((s) => (s.status === "running" ? now : s.end) >= from);
    const lanes = [...new Set(segments.map((s) => s.device || s.queue))].sort(laneOrder);
    const width = Math.max(280, box.clientWidth);
    const labelW = width < 500 ? 64 : 96;
    const laneH = 30;
    const top = 22;
    const height = top + Math.max(1, lanes.length) * laneH + 6;
    const x = (t) => labelW + ((t - from) / span) * (width - labelW - 8);
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, height, "aria-hidden": "true" });
    const step = niceStep(span, width - labelW - 8);
    for (let t = Math.ceil(from / step) * step; t <= now; t += step) {
      root.append(svg("line", { class: "tick", x1: x(t), x2: x(t), y1: top - 4, y2: height }));
      if (x(now) - x(t) > 56) { // leave room for the now-line's label
        root.append(svg("text", { class: "tick-label", x: x(t) + 2, y: 12 }, step < 60 ? clock(t) : clock(t).slice(0, 5)));
      }
    }
    lanes.forEach((lane, i) => {
      const y = top + i * laneH;
      root.append(svg("rect", { class: "lane", x: labelW, y: y + 2, width: width - labelW - 8, height: laneH - 4 }));
      root.append(svg("text", { class: "lane-label", x: 4, y: y + laneH / 2 + 4 }, lane));
    });
    for (const segment of segments) {
      const lane = lanes.indexOf(segment.device || segment.queue);
      const end = segment.status === "running" ? now : segment.end;
      const left = x(Math.max(from, segment.start));
      const bar = svg("rect", {
        class: `bar ${segment.status}`, x: left, y: top + lane * laneH + 6, height: laneH - 12,
        width: Math.max(3, x(end) - left), "data-job": segment.id,
      });
      bar.append(svg("title", {}, `${segment.id} · ${segment.status} · ${duration(end - segment.start)}`));
      root.append(bar);
    }
    if (!lanes.length) {
      root.append(svg("text", { class: "empty", x: labelW, y: top + 18 }, "No jobs in this window yet."));
    }
    root.append(svg("line", { class: "now", x1: x(now), x2: x(now), y1: top - 6, y2: height }));
    root.append(svg("text", { class: "now-label", x: x(now) - 26, y: 12 }, "now"));
    box.replaceChildren(root);
  }

  // -- providers ------------------------------------------------------------------------------------------------

  function healthCell(health) {
    if (!health) return el("td", { class: "muted", text: "not checked" });
    const ago = duration(Math.max(0, serverNow() - seconds(health.checked_at)));
    return el("td", {}, el("span", { class: health.ok ? "ok" : "bad", text: health.ok ? "up" : "down" }),
      el("span", { class: "muted", text: ` ${ago} ago` }));
  }

  async function loadProviders() {
    const data = await api("/api/providers");
    const health = data.health || {};
    rows($("#providers tbody"), data.providers, (record) => {
      const meta = record.meta || {};
      const price = typeof meta.cost_per_minute === "number" ? money(meta.cost_per_minute, meta.currency || "USD") : "—";
      return el("tr", { "data-provider": record.id }, el("td", {}, el("span", { class: "job", text: record.id })),
        el("td", { class: "opt", text: record.kind || "custom" }), el("td", { class: "num", text: price }),
        healthCell(health[record.id]),
        el("td", { class: "actions" }, el("button", {
          type: "button", class: "small", text: "Check", "aria-label": `Check health of ${record.id}`,
          onclick: () => api(`/api/providers/health?id=${encodeURIComponent(record.id)}`, { auth: true })
            .then((result) => { notice(`${record.id}: ${result.ok ? "up" : `down (${result.error || "failed"})`}`, result.ok); loadProviders().catch(failed("providers")); })
            .catch(failed(`health of ${record.id}`)),
        })));
    }, "no providers registered", 5);
  }

  // -- planner --------------------------------------------------------------------------------------------------

  function planBody(form) {
    const data = new FormData(form);
    const job = {};
    for (const key of ["width", "height", "steps", "batch", "frames", "priority", "vram_gb", "model"]) {
      const value = String(data.get(key) || "").trim();
      if (value !== "") job[key] = key === "model" ? value : Number(value);
    }
    return { job, objective: data.get("objective"), allow_remote: data.get("allow_remote") === "on" };
  }

  function renderPlan(answer) {
    $("#plan-reason").textContent = answer.reason;
    $("#plan-reason").className = "reason";
    const table = $("#plan");
    rows(table.querySelector("tbody"), answer.candidates, (c) => {
      const recommended = c.device === answer.recommendation && c.rank === 1;
      const place = el("td", { class: "place" }, el("span", { class: "job", text: c.device }),
        recommended ? el("span", { class: "badge", text: "best" }) : null,
        c.blockers.length ? el("span", { class: "blockers", text: c.blockers.join("; ") }) : null);
      return el("tr", { class: recommended ? "recommended" : c.feasible ? "" : "infeasible", "data-device": c.device },
        el("td", { class: "num", text: String(c.rank) }), place,
        el("td", { class: "num", text: duration(c.eta_s.p50) }), el("td", { class: "num opt", text: duration(c.eta_s.p90) }),
        el("td", { class: "num opt", text: duration(c.wait_s) }),
        el("td", { class: "num", text: money(c.cost.estimate, c.cost.currency) }),
        el("td", { class: "muted opt", text: `${c.basis.source}${c.basis.samples ? ` · ${c.basis.samples}` : ""}` }));
    }, "no candidates", 7);
    table.hidden = false;
  }

  function plan(event) {
    event.preventDefault();
    api("/api/compute/plan", { method: "POST", body: planBody(event.target) })
      .then((answer) => { setFeature(answer.feature); renderPlan(answer); })
      .catch((error) => {
        $("#plan-reason").textContent = error.message;
        $("#plan-reason").className = "reason error";
        $("#plan").hidden = true;
      });
  }

  // -- activity and the event stream ----------------------------------------------------------------------------

  function describe(type, data) {
    if (type === "job") {
      const where = data.device_id ? ` on ${data.device_id}` : "";
      return `${data.job_id}: ${data.from || "new"} → ${data.to}${where} (${data.queue})`;
    }
    if (type === "provider") {
      return data.op === "health" ? `${data.provider_id} is ${data.ok ? "up" : "down"}` : `${data.provider_id}: ${data.op}`;
    }
    if (type === "policy") return `GPU policy: ${data.policy.mode}`;
    return type;
  }

  function remember(event) {
    const id = Number(event.lastEventId);
    if (Number.isInteger(id) && id > 0) view.lastId = id;
    const data = JSON.parse(event.data);
    const feed = $("#activity");
    feed.prepend(el("li", { "data-id": event.lastEventId, "data-type": event.type },
      el("span", { class: "eid", text: `#${event.lastEventId}` }), el("span", { class: "what", text: describe(event.type, data) }),
      el("span", { class: "when", text: data.ts ? clock(seconds(data.ts)) : "" })));
    while (feed.children.length > ACTIVITY_MAX) feed.lastElementChild.remove();
    $("#activity-empty").hidden = true;
    return data;
  }

  function setLive(mode, text) {
    const pill = $("#live");
    pill.className = `pill live-${mode}`;
    pill.textContent = text;
  }

  function refreshSoon() {
    if (view.refreshTimer !== null) return;
    view.refreshTimer = setTimeout(() => {
      view.refreshTimer = null;
      loadJobs().catch(failed("queues"));
    }, REFRESH_MS);
  }

  function startPolling() {
    if (view.pollTimer !== null) return;
    setLive("polling", "polling every 5 s");
    view.pollTimer = setInterval(() => loadJobs().catch(() => setLive("polling", "service unreachable")), POLL_MS);
  }

  function stopPolling() {
    if (view.pollTimer === null) return;
    clearInterval(view.pollTimer);
    view.pollTimer = null;
  }

  function openEvents() {
    // A new EventSource resumes with ?after=; the browser's own reconnects send Last-Event-ID, which wins.
    const source = new EventSource(view.lastId === null ? "/api/events" : `/api/events?after=${view.lastId}`);
    source.addEventListener("open", () => {
      setLive("live", "live");
      stopPolling();
      loadAll();
    });
    source.addEventListener("job", (event) => { remember(event); refreshSoon(); });
    source.addEventListener("provider", (event) => { remember(event); loadProviders().catch(failed("providers")); });
    source.addEventListener("policy", (event) => remember(event));
    source.addEventListener("device", (event) => renderDevices(JSON.parse(event.data).devices));
    source.addEventListener("reset", () => loadAll());
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (the stream cap) or not an event stream: poll, and try again later.
        source.close();
        startPolling();
        setTimeout(openEvents, POLL_MS);
      } else {
        setLive("reconnecting", "reconnecting…");
      }
    });
  }

  function loadAll() {
    loadDevices().catch(failed("devices"));
    loadProviders().catch(failed("providers"));
    loadJobs().catch(failed("queues"));
  }

  // -- the token ------------------------------------------------------------------------------------------------

  function showToken() {
    $("#token").value = view.token;
    $("#token-state").textContent = view.token
      ? "Token set for this tab: cancel, requeue and health checks send it."
      : "Cancel, requeue and health checks send it; kept for this tab only.";
  }

  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    view.token = $("#token").value.trim();
    if (view.token) sessionStorage.setItem(TOKEN_KEY, view.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    showToken();
    notice("");
  });
  $("#token-clear").addEventListener("click", () => {
    view.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showToken();
  });
  $("#plan-form").addEventListener("submit", plan);
  $("#window").addEventListener("change", renderBoard);
  window.addEventListener("resize", renderBoard);
  setInterval(tick, 1000); // elapsed times, lease countdowns, the now-line

  showToken();
  loadAll();
  if (typeof EventSource === "function") openEvents();
  else startPolling();
})();
