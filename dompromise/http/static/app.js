// The parts-counter page: plain JS over the HTTP/JSON API (no build step).
// Search as you type, per-node stock nearest the counter's store first, incoming supply, delivery options to a
// postal code, counter holds, and live numbers from WatchAvailability as Server-Sent Events.
"use strict";

const STORE_KEY = "dompromise.counterStore";
const SEARCH_DELAY_MS = 60;
const SUPPLY_DAYS = 14;
// After a live change, supply and node statuses are read again once changes pause for this long.
const REFRESH_DELAY_MS = 250;
const $ = (id) => document.getElementById(id);
const state = { nodes: [], nodeById: {}, sku: null, results: [], selected: -1, events: null, searchTimer: 0, searchSeq: 0, refreshTimer: 0 };

// With `serve --auth-keys`, the counter's key is kept in this browser (localStorage "dompromise.apiKey").
const API_KEY_STORAGE = "dompromise.apiKey";

async function api(method, path, body) {
  const init = { method, headers: {} };
  const key = localStorage.getItem(API_KEY_STORAGE);
  if (key) init.headers["Authorization"] = `Bearer ${key}`;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const document = await response.json();
  if (!response.ok) {
    const fields = (document.details || []).flatMap((d) => d.fieldViolations || []).map((v) => `${v.field}: ${v.description}`);
    throw new Error(fields.length ? fields.join("; ") : document.message || `HTTP ${response.status}`);
  }
  return document;
}

function say(text) {
  $("message").textContent = text || "";
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// ---- nodes and the counter's store --------------------------------------------------------------------------------

async function fetchNodes() {
  const nodes = [];
  let token = "";
  do {
    const page = await api("GET", `/v1/nodes?page_size=1000${token ? `&page_token=${encodeURIComponent(token)}` : ""}`);
    nodes.push(...(page.nodes || []));
    token = page.nextPageToken || "";
  } while (token);
  return nodes;
}

async function loadNodes() {
  const nodes = await fetchNodes();
  state.nodes = nodes;
  state.nodeById = Object.fromEntries(nodes.map((n) => [n.nodeId, n]));
  const select = $("store");
  for (const node of nodes) select.append(element("option", { value: node.nodeId }, `${node.name || node.nodeId} (${node.nodeId})`));
  select.value = localStorage.getItem(STORE_KEY) || "";
}

function distanceKm(a, b) {
  if (!a || !b || a.latitudeDegrees === undefined || b.latitudeDegrees === undefined) return null;
  const rad = Math.PI / 180;
  const dLat = (b.latitudeDegrees - a.latitudeDegrees) * rad;
  const dLon = (b.longitudeDegrees - a.longitudeDegrees) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitudeDegrees * rad) * Math.cos(b.latitudeDegrees * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

// ---- search -------------------------------------------------------------------------------------------------------

function onSearchInput() {
  clearTimeout(state.searchTimer);
  const query = $("search").value.trim();
  if (!query) return showResults([]);
  state.searchTimer = setTimeout(() => search(query), SEARCH_DELAY_MS);
}

async function search(query) {
  const seq = ++state.searchSeq;
  try {
    const answer = await api("GET", `/v1/skus:search?query=${encodeURIComponent(query)}`);
    if (seq === state.searchSeq) showResults(answer.skus || []);
  } catch (error) {
    if (seq === state.searchSeq) say(error.message);
  }
}

function showResults(skus) {
  state.results = skus;
  state.selected = skus.length ? 0 : -1;
  const list = $("results");
  list.replaceChildren(
    ...skus.map((sku, i) =>
      element("li", { role: "option", "data-sku": sku.skuId, onmousedown: () => choose(i) },
        element("span", { class: "id" }, sku.skuId), sku.description || ""),
    ),
  );
  $("search").setAttribute("aria-expanded", skus.length ? "true" : "false");
  markSelected();
}

function markSelected() {
  [...$("results").children].forEach((li, i) => li.setAttribute("aria-selected", i === state.selected ? "true" : "false"));
  const current = $("results").children[state.selected];
  if (current) current.scrollIntoView({ block: "nearest" });
}

function onSearchKey(event) {
  const count = state.results.length;
  if (event.key === "ArrowDown" && count) state.selected = (state.selected + 1) % count;
  else if (event.key === "ArrowUp" && count) state.selected = (state.selected - 1 + count) % count;
  else if (event.key === "Enter" && state.selected >= 0) choose(state.selected);
  else if (event.key === "Escape") showResults([]);
  else return;
  event.preventDefault();
  markSelected();
}

function choose(index) {
  const sku = state.results[index];
  if (!sku) return;
  state.sku = sku;
  showResults([]);
  $("search").value = sku.skuId;
  $("part").hidden = false;
  $("part-title").textContent = sku.skuId;
  $("part-description").textContent = sku.description || "";
  $("options").replaceChildren();
  $("lost").replaceChildren();
  say("");
  loadAvailability();
  watch(sku.skuId);
  $("postal").focus();
}

// ---- availability: node table and incoming supply -----------------------------------------------------------------

async function loadAvailability() {
  const sku = state.sku;
  const start = new Date();
  start.setUTCHours(0, 0, 0, 0);
  const query = new URLSearchParams({
    sku_ids: sku.skuId,
    view: "AVAILABILITY_VIEW_FULL",
    "phasing.start_time": start.toISOString(),
    "phasing.bucket_duration": "86400s",
    "phasing.bucket_count": String(SUPPLY_DAYS),
  });
  try {
    const answer = await api("GET", `/v1/availability?${query}`);
    if (state.sku === sku) {
      renderNodes(answer.nodeIds || [], (answer.items || [])[0] || {});
      renderSupply(answer, (answer.items || [])[0] || {});
    }
  } catch (error) {
    say(error.message);
  }
}

function renderNodes(nodeIds, item, changed) {
  const store = state.nodeById[$("store").value];
  // Every node of the network: one that takes no demand (disabled) is not in the answer, and is shown marked.
  const answered = Object.fromEntries(nodeIds.map((nodeId, i) => [nodeId, i]));
  const rows = state.nodes.map((node, order) => {
    const i = answered[node.nodeId];
    const km = store ? distanceKm(store.location, node.location) : null;
    const figure = (list) => (i === undefined ? "—" : Number((list || [])[i] || 0));
    return {
      node, km, i: order,
      available: figure(item.nodeAvailableQuantities),
      onHand: figure(item.nodeOnHandQuantities),
      held: figure(item.nodeHeldQuantities),
    };
  });
  rows.sort((a, b) => (a.node === store ? -1 : b.node === store ? 1 : 0) || (a.km ?? Infinity) - (b.km ?? Infinity) || a.i - b.i);
  const body = $("nodes").tBodies[0];
  const before = Object.fromEntries([...body.rows].map((r) => [r.dataset.node, r.dataset.available]));
  body.replaceChildren(
    ...rows.map((row) => {
      const status = (row.node.status || "").replace("NODE_STATUS_", "").toLowerCase();
      const marked = status === "disabled" || status === "drain";
      const tr = element("tr", { "data-node": row.node.nodeId, "data-available": String(row.available) },
        element("td", {}, row.node.name || row.node.nodeId),
        element("td", { class: "num" }, row.km === null ? "" : `${Math.round(row.km)} km`),
        element("td", { class: "num available" }, row.available),
        element("td", { class: "num" }, row.onHand),
        element("td", { class: "num" }, row.held),
        element("td", { class: "status" }, marked ? element("span", { class: `badge ${status}` }, status) : "enabled"));
      if (status === "disabled") tr.classList.add("disabled");
      if (row.node === store) tr.classList.add("store");
      if (changed && before[row.node.nodeId] !== undefined && before[row.node.nodeId] !== String(row.available)) {
        tr.classList.add("flash");
        setTimeout(() => tr.classList.remove("flash"), 1200);
      }
      return tr;
    }),
  );
}

function renderSupply(answer, item) {
  const ends = answer.bucketEndTimes || [];
  const phased = (item.phasedAvailableQuantities || []).map(Number);
  let previous = Number(item.availableQuantity || 0);
  const rows = [];
  phased.forEach((quantity, i) => {
    if (quantity > previous) {
      const date = new Date(ends[i]);
      date.setUTCSeconds(date.getUTCSeconds() - 1);  // a bucket's end is the next day's start
      rows.push(element("tr", {}, element("td", {}, date.toLocaleDateString()), element("td", { class: "num" }, quantity),
        element("td", { class: "num" }, `+${quantity - previous}`)));
    }
    previous = quantity;
  });
  if (!rows.length) rows.push(element("tr", {}, element("td", { colSpan: 3 }, `nothing due in the next ${SUPPLY_DAYS} days`)));
  $("supply").tBodies[0].replaceChildren(...rows);
}

// ---- live updates (WatchAvailability as Server-Sent Events) ------------------------------------------------------

function watch(skuId) {
  if (state.events) state.events.close();
  const query = new URLSearchParams({ sku_ids: skuId, view: "AVAILABILITY_VIEW_FULL" });
  const key = localStorage.getItem(API_KEY_STORAGE);
  if (key) query.set("access_token", key); // EventSource sends no headers (RFC 6750 2.3)
  const events = new EventSource(`/v1/availability:watch?${query}`);
  state.events = events;
  events.onopen = () => setLive(true);
  events.onerror = () => setLive(false);
  events.onmessage = (message) => {
    const update = JSON.parse(message.data);
    const availability = update.availability || {};
    const item = (availability.items || [])[0];
    if (!item || !state.sku || item.skuId !== state.sku.skuId) return;
    setLive(true);
    renderNodes(availability.nodeIds || [], item, $("nodes").tBodies[0].rows.length > 0);
    $("live").dataset.version = update.version;
    // A full answer after the first follows a node status change: statuses and incoming supply are read afresh.
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, update.fullAnswer ? 0 : REFRESH_DELAY_MS);
  };
}

async function refresh() {
  try {
    const nodes = await fetchNodes();
    for (const node of nodes) Object.assign(state.nodeById[node.nodeId] || {}, node);
    if (state.sku) await loadAvailability();
  } catch (error) {
    say(error.message);
  }
}

function setLive(on) {
  $("live").textContent = on ? "● live" : "○ reconnecting";
  $("live").classList.toggle("on", on);
}

// ---- delivery options to a postal code ---------------------------------------------------------------------------

function time(text) {
  return text ? new Date(text).toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }) : "?";
}

async function deliver(event) {
  event.preventDefault();
  if (!state.sku) return;
  const request = {
    lines: [{ skuId: state.sku.skuId, quantity: $("quantity").value }],
    postalCode: $("postal").value.trim(),
    countryCode: $("country").value.trim().toUpperCase(),
    maxOptions: 5,
  };
  try {
    const answer = await api("POST", "/v1/promise", request);
    say("");
    const options = (answer.options || []).map((option) => {
      const nodes = (option.shipments || []).map((s) => s.nodeId + (s.viaNodeId ? ` via ${s.viaNodeId}` : "")).join(" + ");
      const method = (option.method || "").replace("DELIVERY_METHOD_", "").toLowerCase();
      const short = (option.shortLines || []).map((l) => `${l.quantity} of ${l.skuId} short`).join(", ");
      return element("li", { class: "option" }, `${method} from ${nodes}: ${time(option.earliestDeliveryTime)} – ${time(option.latestDeliveryTime)}`,
        option.costMinor ? ` · ${(Number(option.costMinor) / 100).toFixed(2)} ${option.currency || ""}` : "", short ? ` · ${short}` : "");
    });
    if (!options.length) options.push(element("li", { class: "none" }, `no delivery option for ${request.lines[0].quantity} to ${request.postalCode}`));
    $("options").replaceChildren(...options);
    const lost = (answer.candidates || []).filter((c) => c.reason !== "CANDIDATE_REASON_USED");
    $("lost").replaceChildren(...lost.map((c) =>
      element("li", { class: "lost" }, `${c.nodeId}: ${(c.reason || "").replace("CANDIDATE_REASON_", "").toLowerCase().replace(/_/g, " ")}${c.detail ? ` (${c.detail})` : ""}`)));
  } catch (error) {
    say(error.message);
  }
}

// ---- counter holds ------------------------------------------------------------------------------------------------

async function hold(event) {
  event.preventDefault();
  const store = $("store").value;
  if (!state.sku || !store) return say("set the counter store first");
  const request = {
    requestId: `counter-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    lines: [{ skuId: state.sku.skuId, nodeId: store, quantity: $("hold-quantity").value }],
    ttl: $("hold-ttl").value,
    customerId: $("hold-customer").value.trim(),
  };
  try {
    const answer = await api("POST", "/v1/reservations", request);
    if (!answer.reservation) {
      const result = (answer.lineResults || [])[0] || {};
      return say(`cannot hold: ${(result.status || "").replace("ITEM_STATUS_", "").toLowerCase()} (available ${result.availableQuantity || 0})`);
    }
    say("");
    addHold(answer.reservation);
  } catch (error) {
    say(error.message);
  }
}

function addHold(reservation) {
  const line = reservation.lines[0];
  const li = element("li", { class: "hold", "data-reservation": reservation.reservationId },
    `${line.quantity} × ${line.skuId} at ${line.nodeId}${reservation.customerId ? ` for ${reservation.customerId}` : ""} until ${time(reservation.expireTime)} `,
    element("button", { class: "release", onclick: () => release(reservation.reservationId, li) }, "Release"));
  $("holds").append(li);
}

async function release(reservationId, li) {
  try {
    await api("POST", `/v1/reservations/${encodeURIComponent(reservationId)}:release`, { requestId: `release-${reservationId}` });
    li.remove();
    say("");
  } catch (error) {
    say(error.message);
  }
}

// ---- start --------------------------------------------------------------------------------------------------------

$("search").addEventListener("input", onSearchInput);
$("search").addEventListener("keydown", onSearchKey);
$("deliver").addEventListener("submit", deliver);
$("hold").addEventListener("submit", hold);
$("store").addEventListener("change", () => {
  localStorage.setItem(STORE_KEY, $("store").value);
  if (state.sku) loadAvailability();
});
loadNodes().then(() => document.body.setAttribute("data-ready", "true"), (error) => say(error.message));
